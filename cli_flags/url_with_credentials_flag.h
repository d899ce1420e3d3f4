// UrlWithCredentials: the value type of a flag whose URL may carry a password
// (redis://user:PASSWORD@host/...), so that --help, --helpfull and anything else that prints a
// flag's value shows the URL with its userinfo masked.
//
// Abseil prints every flag's current value in --helpfull ("currently: ..."), including values that
// came from an OTA_* environment fallback, which is exactly where operators are told to put such
// URLs. A plain std::string flag would print the password there.
//
//   ABSL_FLAG(ota::UrlWithCredentials, redis_url, {"redis://127.0.0.1:6379/0"}, "...");
//   ParseRedisUrl(absl::GetFlag(FLAGS_redis_url).url);   // the real value, password included
//   // ota-gateway --redis-url=redis://:pw@h:6379/0 --helpfull  ->  currently:
//   "redis://***@h:6379/0"
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace ota {

struct UrlWithCredentials {
  std::string url;
};

// "scheme://user:pass@host/path" -> "scheme://***@host/path"; a URL without userinfo unchanged.
[[nodiscard]] std::string MaskUrlCredentials(absl::string_view url);

// Abseil flag hooks: parsing keeps the text as it is (the URL is validated where it is used, with
// errors that do not echo it); unparsing masks.
bool AbslParseFlag(absl::string_view text, UrlWithCredentials* flag, std::string* error);
std::string AbslUnparseFlag(const UrlWithCredentials& flag);

}  // namespace ota
