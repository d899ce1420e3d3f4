// ota-sign-vectors: reads one JSON request per line on stdin and writes what our signer computes
// for it, one JSON object per line on stdout, so a test in another language (the official SDKs are
// Python) can compare both sides on the same inputs.
//
//   {"kind":"v1","method":"POST","params":{"Action":"X"},"secret":"s"}
//     -> {"canonical_query":...,"string_to_sign":...,"signature":...}
//   {"kind":"v3","method":"POST","path":"/","query":{},"headers":{"host":"h"},"body":"",
//    "key_id":"id","secret":"s"}
//     -> {"canonical_query":...,"canonical_request":...,"hashed_canonical_request":...,
//         "string_to_sign":...,"signed_headers":...,"signature":...,"authorization":...}
//   {"kind":"request","version":"v1"|"v3","action":"A","api_version":"2018-01-20","params":{},
//    "endpoint":"https://h/","key_id":"id","secret":"s","security_token":"","unix_seconds":0,
//    "nonce":"n"}
//     -> {"method":...,"url":...,"headers":[[name,value],...],"body":...}
//   {"kind":"percent_encode","text":"a b"} -> {"encoded":"a%20b"}
// A line that cannot be handled gives {"error": "..."}; the secret is never echoed.
#include <iostream>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "server/signing/rpc_signer.h"

namespace {

using Json = nlohmann::json;

ota::ParamMap ToParamMap(const Json& object) {
  ota::ParamMap map;
  for (const auto& [name, value] : object.items()) map[name] = value.get<std::string>();
  return map;
}

Json SignV1(const Json& in) {
  const ota::ParamMap params = ToParamMap(in.at("params"));
  const std::string string_to_sign =
      ota::V1StringToSign(in.value("method", std::string("POST")), params);
  return {{"canonical_query", ota::V1CanonicalQuery(params)},
          {"string_to_sign", string_to_sign},
          {"signature", ota::V1Signature(in.at("secret").get<std::string>(), string_to_sign)}};
}

Json SignV3(const Json& in) {
  const ota::Acs3Input input{.method = in.value("method", std::string("POST")),
                             .path = in.value("path", std::string("/")),
                             .query = ToParamMap(in.value("query", Json::object())),
                             .headers = ToParamMap(in.value("headers", Json::object())),
                             .body = in.value("body", std::string())};
  const ota::Acs3Result result =
      ota::Acs3Sign(input, in.at("key_id").get<std::string>(), in.at("secret").get<std::string>());
  return {{"canonical_query", ota::Acs3CanonicalQuery(input.query)},
          {"canonical_request", result.canonical_request},
          {"hashed_canonical_request", result.hashed_canonical_request},
          {"string_to_sign", result.string_to_sign},
          {"signed_headers", result.signed_headers},
          {"signature", result.signature},
          {"authorization", result.authorization}};
}

Json SignRequest(const Json& in) {
  const absl::StatusOr<ota::SignatureVersion> version =
      ota::ParseSignatureVersion(in.at("version").get<std::string>());
  if (!version.ok()) return {{"error", std::string(version.status().message())}};
  const absl::StatusOr<ota::Endpoint> endpoint =
      ota::ParseEndpoint(in.at("endpoint").get<std::string>());
  if (!endpoint.ok()) return {{"error", std::string(endpoint.status().message())}};
  const ota::RpcCall call{.action = in.at("action").get<std::string>(),
                          .version = in.at("api_version").get<std::string>(),
                          .params = ToParamMap(in.value("params", Json::object()))};
  const ota::Credentials credentials{.access_key_id = in.at("key_id").get<std::string>(),
                                     .access_key_secret = in.at("secret").get<std::string>(),
                                     .security_token = in.value("security_token", std::string())};
  const ota::HttpRequest request =
      ota::SignRpcCall(*version, call, *endpoint, credentials,
                       absl::FromUnixSeconds(in.at("unix_seconds").get<int64_t>()),
                       in.at("nonce").get<std::string>());
  Json headers = Json::array();
  for (const auto& [name, value] : request.headers) headers.push_back({name, value});
  return {{"method", request.method},
          {"url", request.url},
          {"headers", headers},
          {"body", request.body}};
}

Json Handle(const std::string& line) {
  const Json in = Json::parse(line);
  const std::string kind = in.at("kind").get<std::string>();
  if (kind == "v1") return SignV1(in);
  if (kind == "v3") return SignV3(in);
  if (kind == "request") return SignRequest(in);
  if (kind == "percent_encode") {
    return {{"encoded", ota::PercentEncode(in.at("text").get<std::string>())}};
  }
  return {{"error", "unknown kind \"" + kind + "\" (use v1, v3, request or percent_encode)"}};
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    Json out;
    try {
      out = Handle(line);
    } catch (const Json::exception& e) {
      // nlohmann's messages name the offending key or position, not the values.
      out = {{"error", std::string("bad input line: ") + e.what()}};
    }
    std::cout << out.dump() << '\n' << std::flush;
  }
  return 0;
}
