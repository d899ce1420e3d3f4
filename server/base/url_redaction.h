// URL redaction: how a URL may appear in logs and error messages. A user:password@ part and the
// query string (a signed Alibaba request carries its AccessKeyId and Signature there, and someone
// may paste one as an endpoint) never do.
//
//   ota::RedactedUrl("https://u:p@iot.example/?Signature=x")  // "https://***@iot.example/?..."
//   ota::RedactUrlQuery(curl_error_text, request_url)        // the query scrubbed out of free text
#pragma once

#include <string>
#include <string_view>

namespace ota {

// `url` with its userinfo shown as "***", and anything from "?" or "#" on as "?..." or "#...".
[[nodiscard]] std::string RedactedUrl(std::string_view url);

// `text` (say, libcurl's error message about `url`) with `url`'s query replaced by "<redacted>"
// wherever it appears, and anything after a "?" up to the next space or quote redacted too.
[[nodiscard]] std::string RedactUrlQuery(std::string_view text, std::string_view url);

}  // namespace ota
