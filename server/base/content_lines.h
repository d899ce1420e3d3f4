// ContentLines: the meaningful lines of a small line-oriented text an operator writes (the
// gateway's --error-map, ota-cancel's --jobs list). `#` starts a comment, surrounding blanks are
// trimmed and empty lines are dropped; each line keeps its 1-based number so that an error can
// name it.
#pragma once

#include <vector>

#include "absl/strings/string_view.h"

namespace ota {

struct ContentLine {
  int number = 0;          // 1-based, counted over every line of the text
  absl::string_view text;  // without comment and surrounding blanks; never empty
};

// The views point into `text`, which must outlive them.
std::vector<ContentLine> ContentLines(absl::string_view text);

}  // namespace ota
