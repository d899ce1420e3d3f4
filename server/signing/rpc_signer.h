// RpcSigner: turns one Alibaba Cloud RPC-style API call into a signed HTTP request.
//
// Two signature methods are supported, chosen per gateway:
//   - kAcs3HmacSha256: "ACS3-HMAC-SHA256" (signature v3), what current official SDKs send.
//   - kV1HmacSha1: the classic RPC signature (SignatureMethod=HMAC-SHA1, SignatureVersion=1.0).
// Both send `POST /` with the API parameters in the query string and an empty body.
//
// The signer is a pure function of its inputs: time and nonce are passed in, so tests pin the
// published worked examples exactly, and every attempt (retries included) gets a fresh nonce and
// timestamp from its caller.
//
//   ota::RpcCall call{.action = "CancelOTAStrategyByJob", .version = "2018-01-20",
//                     .params = {{"JobId", job_id}}};
//   absl::StatusOr<ota::Endpoint> endpoint =
//   ota::ParseEndpoint("https://iot.cn-shanghai.aliyuncs.com/"); ota::HttpRequest request =
//   ota::SignRpcCall(ota::SignatureVersion::kAcs3HmacSha256, call,
//                                               *endpoint, credentials, absl::Now(), nonce);
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/alibaba_time.h"
#include "server/base/sha256.h"
#include "server/credentials/credentials.h"
#include "server/http/http_message.h"

namespace ota {

enum class SignatureVersion { kV1HmacSha1, kAcs3HmacSha256 };

// Parses "v1" / "v3" (also "HMAC-SHA1" / "ACS3-HMAC-SHA256").
[[nodiscard]] absl::StatusOr<SignatureVersion> ParseSignatureVersion(std::string_view text);
[[nodiscard]] std::string_view SignatureVersionName(SignatureVersion version);

// Parameters are sorted by name for signing anyway; std::map keeps that order visible.
using ParamMap = std::map<std::string, std::string>;

struct RpcCall {
  std::string action;   // e.g. "CancelOTAStrategyByJob"
  std::string version;  // e.g. "2018-01-20"
  ParamMap params;      // API-specific parameters, e.g. {"JobId", "..."}; empty names are dropped
};

// Where requests go: scheme://host[:port]/path. `host` includes a non-default port and is what the
// `host` header (and the v3 signature) uses.
struct Endpoint {
  std::string scheme;  // "https" or "http"
  std::string host;    // e.g. "iot.cn-shanghai.aliyuncs.com" or "127.0.0.1:8080"
  std::string path;    // "/" unless the URL said otherwise
};
[[nodiscard]] absl::StatusOr<Endpoint> ParseEndpoint(std::string_view url);

// RFC 3986 percent-encoding as Alibaba specifies it: UTF-8 bytes, only A-Z a-z 0-9 - _ . ~ left
// as they are, upper-case hex ("%2A" for '*', "%20" for space).
[[nodiscard]] std::string PercentEncode(std::string_view text);

// --- Signature v1 (HMAC-SHA1) building blocks, exposed for tests and for the emulator's verifier.
// "k1=v1&k2=v2" over every parameter except "Signature" (and empty names), sorted,
// percent-encoded.
[[nodiscard]] std::string V1CanonicalQuery(const ParamMap& params);
// METHOD + "&%2F&" + PercentEncode(V1CanonicalQuery(params)).
[[nodiscard]] std::string V1StringToSign(std::string_view method, const ParamMap& params);
// base64(HMAC-SHA1(secret + "&", string_to_sign)).
[[nodiscard]] std::string V1Signature(std::string_view secret, std::string_view string_to_sign);

// --- Signature v3 (ACS3-HMAC-SHA256) building blocks.
// Sorted, percent-encoded "k=v" joined by '&' (an empty value gives "k="; an empty name is left
// out, as no server can read it back).
[[nodiscard]] std::string Acs3CanonicalQuery(const ParamMap& query);
struct Acs3Input {
  std::string method;  // "POST"
  std::string path;    // "/"
  ParamMap query;
  // Headers to sign, lower-case names: host, x-acs-*, and content-type when present.
  ParamMap headers;
  std::string body;
};
struct Acs3Result {
  std::string canonical_request;
  std::string hashed_canonical_request;  // hex SHA-256 of canonical_request
  std::string string_to_sign;            // "ACS3-HMAC-SHA256\n" + hashed_canonical_request
  std::string signed_headers;            // "host;x-acs-action;..."
  std::string signature;                 // hex HMAC-SHA256(secret, string_to_sign)
  std::string authorization;             // full Authorization header value
};
[[nodiscard]] Acs3Result Acs3Sign(const Acs3Input& input, std::string_view access_key_id,
                                  std::string_view access_key_secret);

// Builds the complete signed request for `call`: common parameters (v1) or x-acs-* headers (v3),
// the signature, and the URL. SecurityToken / x-acs-security-token are added when the credentials
// carry one.
[[nodiscard]] HttpRequest SignRpcCall(SignatureVersion version, const RpcCall& call,
                                      const Endpoint& endpoint, const Credentials& credentials,
                                      absl::Time now, std::string_view nonce);

// A fresh random nonce (32 hex characters from a CSPRNG).
[[nodiscard]] std::string NewNonce();

}  // namespace ota
