#include "cli_flags/url_with_credentials_flag.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ota {

std::string MaskUrlCredentials(absl::string_view url) {
  const std::size_t scheme_end = url.find("://");
  const std::size_t authority_start = scheme_end == absl::string_view::npos ? 0 : scheme_end + 3;
  // RFC 3986: the authority ends at the first '/', '?' or '#'; userinfo is before its last '@'.
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority_start), url.size());
  const std::size_t at = url.substr(0, authority_end).rfind('@');
  if (at == absl::string_view::npos || at < authority_start) return std::string(url);
  return absl::StrCat(url.substr(0, authority_start), "***", url.substr(at));
}

bool AbslParseFlag(absl::string_view text, UrlWithCredentials* flag, std::string* /*error*/) {
  flag->url = std::string(text);
  return true;
}

std::string AbslUnparseFlag(const UrlWithCredentials& flag) { return MaskUrlCredentials(flag.url); }

}  // namespace ota
