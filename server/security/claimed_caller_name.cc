#include "server/security/claimed_caller_name.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ota {

absl::StatusOr<std::string> ClaimedCallerName(absl::string_view value) {
  if (value.empty()) return std::string(kAnonymousCaller);
  const bool allowed_chars = std::all_of(value.begin(), value.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
  if (value.size() > kMaxClaimedCallerNameLength || !allowed_chars) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the ", kCallerNameMetadataKey, " metadata must be 1 to ", kMaxClaimedCallerNameLength,
        " characters of letters, digits, '.', '_' and '-' (it names the caller for the fair share "
        "of the quota); send a shorter plain name or none"));
  }
  return std::string(value);
}

}  // namespace ota
