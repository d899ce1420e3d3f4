// RequestAuthenticator: checks an incoming Alibaba RPC request the way Alibaba's API gateway does.
//
// It accepts both signature methods the official SDKs use:
//   - v1 (HMAC-SHA1): common parameters and Signature in the query string and/or a form body,
//     GET or POST;
//   - ACS3-HMAC-SHA256 (v3): the Authorization header over the canonical request, with
//     x-acs-content-sha256 matching the body and host plus every x-acs-* header signed.
// and answers with Alibaba's gateway error codes: MissingParameter, IncompleteSignature,
// InvalidAccessKeyId.NotFound, IllegalTimestamp, InvalidTimeStamp.Expired, SignatureDoesNotMatch
// (whose message ends with the server's string-to-sign, so a caller can diff it against its own),
// InvalidSecurityToken.MismatchWithAccessKey and SignatureNonceUsed. The signatures are
// recomputed with the gateway's own signer building blocks (server/rpc_signer.h): what the gateway
// signs, the emulator verifies.
//
//   ota::RequestAuthenticator auth(keys, absl::Minutes(15), nonces, ota::SystemClock::Get());
//   ota::Authentication a = auth.Authenticate(request);
//   if (a.error) { /* answer GatewayErrorAnswer(*a.error, host) */ }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "emulator/api_answer.h"
#include "emulator/incoming_request.h"
#include "emulator/nonce_registry.h"
#include "server/base/clock.h"
#include "server/signing/rpc_signer.h"

namespace ota {

// One AccessKey the emulator knows.
struct AccessKey {
  std::string id;
  std::string secret;
  std::string account;         // quota is counted per account
  std::string security_token;  // non-empty: an STS key, every request must carry this token
};

struct Authentication {
  // Known even for most rejected requests, for the call record.
  std::string access_key_id;
  std::string signature_method;  // "HMAC-SHA1", "ACS3-HMAC-SHA256" or empty when unrecognised
  std::string action;
  std::string version;
  ParamMap params;  // query and form parameters together (the API's own ones among them)
  // Set only when accepted.
  std::string account;
  // Set when rejected.
  std::optional<GatewayError> error;
};

class RequestAuthenticator {
 public:
  RequestAuthenticator(const std::vector<AccessKey>& keys, absl::Duration max_skew,
                       NonceRegistry& nonces, const Clock& clock);

  [[nodiscard]] Authentication Authenticate(const IncomingRequest& request) const;

  // What the request claims (key id, method, action, version, parameters) without checking
  // anything: for recording calls that never reach Authenticate, e.g. hit by an injected fault.
  [[nodiscard]] static Authentication Identify(const IncomingRequest& request);

 private:
  void AuthenticateV1(const IncomingRequest& request, Authentication& result) const;
  void AuthenticateAcs3(const IncomingRequest& request, Authentication& result) const;
  // The timestamp's format and its distance from the emulator's clock (both methods).
  [[nodiscard]] std::optional<GatewayError> CheckFreshness(absl::string_view timestamp_name,
                                                           absl::string_view timestamp) const;

  absl::flat_hash_map<std::string, AccessKey> keys_;
  const absl::Duration max_skew_;
  NonceRegistry& nonces_;
  const Clock& clock_;
};

}  // namespace ota
