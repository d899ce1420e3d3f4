#include "emulator/incoming_request.h"

#include <cstddef>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "httplib.h"

namespace ota {
namespace {

ParamMap ParseUrlEncoded(const std::string& text) {
  // cpp-httplib's own decoder, the one its server applies to `params`: '+' means space.
  httplib::Params decoded;
  httplib::detail::parse_query_text(text, decoded);
  ParamMap out;
  for (auto& [name, value] : decoded) out.emplace(name, value);
  return out;
}

}  // namespace

std::string IncomingRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

IncomingRequest MakeIncomingRequest(std::string method, const std::string& target,
                                    const HeaderList& headers, std::string body) {
  IncomingRequest out;
  out.method = std::move(method);
  const std::size_t q = target.find('?');
  out.path = httplib::detail::decode_url(target.substr(0, q), /*convert_plus_to_space=*/false);
  if (q != std::string::npos) out.query = ParseUrlEncoded(target.substr(q + 1));
  for (const auto& [name, value] : headers) {
    out.headers.emplace(absl::AsciiStrToLower(name), value);
  }
  if (absl::StartsWith(absl::AsciiStrToLower(out.Header("content-type")),
                       "application/x-www-form-urlencoded")) {
    out.form = ParseUrlEncoded(body);
  }
  out.body = std::move(body);
  return out;
}

}  // namespace ota
