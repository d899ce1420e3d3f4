// IncomingRequest: one HTTP request as iot-emulator received it, independent of the HTTP library.
//
// Query string and form body are decoded into parameters here, once, so the authenticator and the
// API see plain names and values (the signature checks re-encode them canonically).
//
//   ota::IncomingRequest r = ota::MakeIncomingRequest(
//       "POST", "/?Action=CancelOTAStrategyByJob&JobId=j1", {{"Host", "127.0.0.1:18080"}}, "");
//   r.query.at("JobId");        // "j1"
//   r.Header("host");           // "127.0.0.1:18080"
#pragma once

#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/http/http_message.h"
#include "server/signing/rpc_signer.h"

namespace ota {

struct IncomingRequest {
  std::string method;  // "POST", "GET"
  std::string path;    // decoded path, normally "/"
  ParamMap query;      // decoded query-string parameters
  ParamMap form;       // decoded application/x-www-form-urlencoded body parameters
  absl::flat_hash_map<std::string, std::string> headers;  // lower-case names
  std::string body;

  // The value of the header, or empty.
  [[nodiscard]] std::string Header(const std::string& lower_name) const;
};

// `target` is the request line's target ("/path?query"); header names may be in any case. Of a
// parameter or header given twice, the first wins.
[[nodiscard]] IncomingRequest MakeIncomingRequest(std::string method, const std::string& target,
                                                  const HeaderList& headers, std::string body);

}  // namespace ota
