// Caller request ids: the `x-request-id` metadata a caller may send so its own logs and ours can be
// joined. The value is the caller's, so it is bounded and reduced to printable ASCII before it goes
// into a log line: a log pipeline must not be fed control characters, terminal escapes or a
// megabyte of text by whoever calls the gateway.
//
//   fields["x_request_id"] = ota::SanitizeRequestId(raw_value);  // "" when nothing usable is left
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ota {

inline constexpr char kRequestIdMetadataKey[] = "x-request-id";
// Longer ids are cut: a UUID is 36 characters, a W3C trace parent 55.
inline constexpr std::size_t kMaxRequestIdLength = 128;

// The first kMaxRequestIdLength bytes of `raw`, each byte outside printable ASCII ('!'..'~') and
// each space replaced by '_'; surrounding whitespace is dropped first.
[[nodiscard]] std::string SanitizeRequestId(std::string_view raw);

}  // namespace ota
