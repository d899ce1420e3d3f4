#include "cli_flags/hyphenated_flags.h"

#include <algorithm>
#include <string_view>

namespace ota {

std::vector<char*> NormalizeFlagNames(int argc, char** argv, std::vector<std::string>& storage) {
  storage.clear();
  storage.reserve(static_cast<std::size_t>(argc));
  bool after_terminator = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !after_terminator) {
      if (arg == "--") {
        after_terminator = true;
      } else if (arg.size() > 2 && arg[0] == '-') {
        // "-x", "--x": the flag name runs from after the dashes to '=' or the end.
        const std::size_t name_start = arg[1] == '-' ? 2 : 1;
        const std::size_t name_end = std::min(arg.find('='), arg.size());
        std::replace(arg.begin() + static_cast<std::ptrdiff_t>(name_start),
                     arg.begin() + static_cast<std::ptrdiff_t>(name_end), '-', '_');
      }
    }
    storage.push_back(std::move(arg));
  }
  std::vector<char*> pointers;
  pointers.reserve(storage.size());
  for (std::string& s : storage) pointers.push_back(s.data());
  return pointers;
}

}  // namespace ota
