#include "server/base/url_redaction.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"

namespace ota {

std::string RedactedUrl(std::string_view url) {
  std::string shown(url.substr(0, url.find_first_of("?#")));
  if (shown.size() < url.size()) shown.append(url[shown.size()] == '?' ? "?..." : "#...");
  const std::size_t scheme_end = shown.find("://");
  const std::size_t authority_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  const std::size_t authority_end = shown.find('/', authority_start);
  const std::size_t at = shown.rfind('@', authority_end);
  if (at != std::string::npos && at >= authority_start) {
    shown.replace(authority_start, at - authority_start, "***");
  }
  return shown;
}

std::string RedactUrlQuery(std::string_view text, std::string_view url) {
  std::string scrubbed(text);
  if (const std::size_t q = url.find('?'); q != std::string_view::npos && q + 1 < url.size()) {
    const std::string_view query = url.substr(q + 1);
    absl::StrReplaceAll({{absl::string_view(query.data(), query.size()), "<redacted>"}}, &scrubbed);
  }
  std::string out;
  out.reserve(scrubbed.size());
  for (std::size_t i = 0; i < scrubbed.size();) {
    if (scrubbed[i] != '?') {
      out += scrubbed[i++];
      continue;
    }
    out += "?<redacted>";
    ++i;
    while (i < scrubbed.size() && !absl::ascii_isspace(static_cast<unsigned char>(scrubbed[i])) &&
           scrubbed[i] != '"' && scrubbed[i] != '\'') {
      ++i;
    }
  }
  return out;
}

}  // namespace ota
