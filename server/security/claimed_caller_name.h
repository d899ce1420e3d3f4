// ClaimedCallerName: the name an unauthenticated caller gives itself in the `x-ota-caller`
// metadata, used only to share the account's quota fairly between callers when the gateway does
// not check callers (--allow-unauthenticated). It proves nothing, so it never grants anything; it
// is bounded so that it is safe to log and to key a queue by.
//
//   absl::StatusOr<std::string> name = ota::ClaimedCallerName(metadata_value);  // "" -> anonymous
//   if (!name.ok()) { /* INVALID_ARGUMENT: name.status().message() says what to fix */ }
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ota {

inline constexpr char kCallerNameMetadataKey[] = "x-ota-caller";
inline constexpr char kAnonymousCaller[] = "anonymous";
inline constexpr std::size_t kMaxClaimedCallerNameLength = 64;

// "anonymous" for an absent (empty) value; the value itself when it is 1 to 64 characters of
// letters, digits, '.', '_' and '-'; otherwise INVALID_ARGUMENT saying what is allowed (without
// echoing the value).
[[nodiscard]] absl::StatusOr<std::string> ClaimedCallerName(absl::string_view value);

}  // namespace ota
