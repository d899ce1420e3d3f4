// HttpRequest / HttpResponse: the plain HTTP exchange between the gateway and Alibaba's endpoint.
//
// The signer produces an HttpRequest, a transport (libcurl in production, fakes in tests) sends it,
// and the reply parser reads the HttpResponse. Header names in an HttpResponse are lower-case.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ota {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "POST" or "GET"
  std::string url;     // absolute URL including the query string
  HeaderList headers;  // sent as given, in order
  std::string body;
  // The upstream quota the request counts against (its Action: Alibaba counts each API's calls
  // apart). The transport paces departures per key; empty: the default one. Not sent.
  std::string pacing_key = {};
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;  // names lower-cased
  std::string body;

  // The value of the first header named `lower_name`, or empty.
  [[nodiscard]] std::string_view Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return {};
  }
};

}  // namespace ota
