#include "server/base/content_lines.h"

#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace ota {

std::vector<ContentLine> ContentLines(absl::string_view text) {
  std::vector<ContentLine> lines;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (const std::size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.push_back({.number = number, .text = line});
  }
  return lines;
}

}  // namespace ota
