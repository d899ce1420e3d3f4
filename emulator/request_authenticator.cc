#include "emulator/request_authenticator.h"

#include <array>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/base/alibaba_time.h"

namespace ota {
namespace {

constexpr absl::string_view kV1Method = "HMAC-SHA1";
constexpr absl::string_view kAcs3Method = "ACS3-HMAC-SHA256";

GatewayError MissingParameter(absl::string_view name) {
  return {400, "MissingParameter",
          absl::StrCat("The input parameter \"", name,
                       "\" that is mandatory for processing this request is not supplied.")};
}

GatewayError IncompleteSignature(absl::string_view why) {
  return {400, "IncompleteSignature",
          absl::StrCat("The request signature does not conform to Aliyun standards. ", why)};
}

GatewayError AccessKeyNotFound() {
  return {404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."};
}

GatewayError SignatureMismatch(absl::string_view server_string_to_sign) {
  return {400, "SignatureDoesNotMatch",
          absl::StrCat("Specified signature is not matched with our calculation. server string to "
                       "sign is:",
                       server_string_to_sign)};
}

GatewayError TokenMismatch() {
  return {400, "InvalidSecurityToken.MismatchWithAccessKey",
          "Specified SecurityToken does not match the AccessKey."};
}

GatewayError NonceUsed() {
  return {400, "SignatureNonceUsed", "Specified signature nonce was used already."};
}

std::string ParamOrEmpty(const ParamMap& params, const std::string& name) {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

// "ACS3-HMAC-SHA256 Credential=ID,SignedHeaders=a;b,Signature=hex" -> its three fields.
struct Acs3Authorization {
  std::string credential;
  std::string signed_headers;
  std::string signature;
};
std::optional<Acs3Authorization> ParseAcs3Authorization(absl::string_view header) {
  if (!absl::ConsumePrefix(&header, kAcs3Method) || !absl::ConsumePrefix(&header, " ")) {
    return std::nullopt;
  }
  Acs3Authorization out;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(absl::StripAsciiWhitespace(part), absl::MaxSplits('=', 1));
    if (kv.first == "Credential") {
      out.credential = std::string(kv.second);
    } else if (kv.first == "SignedHeaders") {
      out.signed_headers = std::string(kv.second);
    } else if (kv.first == "Signature") {
      out.signature = std::string(kv.second);
    }
  }
  if (out.credential.empty() || out.signed_headers.empty() || out.signature.empty()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

RequestAuthenticator::RequestAuthenticator(const std::vector<AccessKey>& keys,
                                           absl::Duration max_skew, NonceRegistry& nonces,
                                           const Clock& clock)
    : max_skew_(max_skew), nonces_(nonces), clock_(clock) {
  for (const AccessKey& key : keys) keys_.insert_or_assign(key.id, key);
}

Authentication RequestAuthenticator::Identify(const IncomingRequest& request) {
  Authentication result;
  // Parameters may arrive in the query string, in a form body, or split between both.
  result.params = request.query;
  for (const auto& [name, value] : request.form) result.params.emplace(name, value);
  const std::string authorization = request.Header("authorization");
  if (authorization.empty()) {
    result.access_key_id = ParamOrEmpty(result.params, "AccessKeyId");
    result.signature_method = ParamOrEmpty(result.params, "SignatureMethod");
    result.action = ParamOrEmpty(result.params, "Action");
    result.version = ParamOrEmpty(result.params, "Version");
  } else if (absl::StartsWith(authorization, kAcs3Method)) {
    result.signature_method = std::string(kAcs3Method);
    result.action = request.Header("x-acs-action");
    result.version = request.Header("x-acs-version");
    if (auto parsed = ParseAcs3Authorization(authorization)) {
      result.access_key_id = parsed->credential;
    }
  } else {
    result.action = ParamOrEmpty(result.params, "Action");
  }
  return result;
}

Authentication RequestAuthenticator::Authenticate(const IncomingRequest& request) const {
  Authentication result = Identify(request);
  const std::string authorization = request.Header("authorization");
  if (authorization.empty()) {
    AuthenticateV1(request, result);
  } else if (absl::StartsWith(authorization, kAcs3Method)) {
    AuthenticateAcs3(request, result);
  } else {
    result.error = IncompleteSignature("Only ACS3-HMAC-SHA256 Authorization headers are accepted.");
  }
  return result;
}

std::optional<GatewayError> RequestAuthenticator::CheckFreshness(
    absl::string_view timestamp_name, absl::string_view timestamp) const {
  const absl::StatusOr<absl::Time> sent =
      ParseAlibabaTime(std::string_view(timestamp.data(), timestamp.size()));
  if (!sent.ok()) {
    return GatewayError{400, "IllegalTimestamp",
                        absl::StrCat("The input parameter \"", timestamp_name,
                                     "\" is not in the format yyyy-MM-ddTHH:mm:ssZ (UTC).")};
  }
  if (absl::AbsDuration(clock_.Now() - *sent) > max_skew_) {
    return GatewayError{400, "InvalidTimeStamp.Expired",
                        "Specified time stamp or date value is expired."};
  }
  return std::nullopt;
}

void RequestAuthenticator::AuthenticateV1(const IncomingRequest& request,
                                          Authentication& result) const {
  const ParamMap& params = result.params;

  static constexpr std::array<absl::string_view, 8> kRequired = {
      "Action",         "Version",          "AccessKeyId",     "Timestamp",
      "SignatureNonce", "SignatureVersion", "SignatureMethod", "Signature"};
  for (absl::string_view name : kRequired) {
    if (ParamOrEmpty(params, std::string(name)).empty()) {
      result.error = MissingParameter(name);
      return;
    }
  }
  if (result.signature_method != kV1Method) {
    result.error = IncompleteSignature("SignatureMethod must be HMAC-SHA1.");
    return;
  }
  if (ParamOrEmpty(params, "SignatureVersion") != "1.0") {
    result.error = IncompleteSignature("SignatureVersion must be 1.0.");
    return;
  }
  auto key = keys_.find(result.access_key_id);
  if (key == keys_.end()) {
    result.error = AccessKeyNotFound();
    return;
  }
  if (auto stale = CheckFreshness("Timestamp", ParamOrEmpty(params, "Timestamp"))) {
    result.error = std::move(stale);
    return;
  }
  const std::string string_to_sign = V1StringToSign(request.method, params);
  if (V1Signature(key->second.secret, string_to_sign) != ParamOrEmpty(params, "Signature")) {
    result.error = SignatureMismatch(string_to_sign);
    return;
  }
  if (ParamOrEmpty(params, "SecurityToken") != key->second.security_token) {
    result.error = TokenMismatch();
    return;
  }
  if (!nonces_.Remember(result.access_key_id, ParamOrEmpty(params, "SignatureNonce"))) {
    result.error = NonceUsed();
    return;
  }
  result.account = key->second.account;
}

void RequestAuthenticator::AuthenticateAcs3(const IncomingRequest& request,
                                            Authentication& result) const {
  const std::optional<Acs3Authorization> authorization =
      ParseAcs3Authorization(request.Header("authorization"));
  if (!authorization) {
    result.error = IncompleteSignature(
        "The Authorization header must read \"ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,"
        "Signature=...\".");
    return;
  }
  static constexpr std::array<absl::string_view, 6> kRequired = {
      "host",       "x-acs-action",          "x-acs-version",
      "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"};
  for (absl::string_view name : kRequired) {
    if (request.Header(std::string(name)).empty()) {
      result.error = MissingParameter(name);
      return;
    }
  }
  // Every header that can change the meaning of the call must be covered by the signature.
  const std::vector<std::string> signed_names = absl::StrSplit(authorization->signed_headers, ';');
  auto is_signed = [&](absl::string_view name) {
    for (const std::string& s : signed_names) {
      if (s == name) return true;
    }
    return false;
  };
  for (const auto& [name, value] : request.headers) {
    if ((name == "host" || absl::StartsWith(name, "x-acs-")) && !is_signed(name)) {
      result.error =
          IncompleteSignature(absl::StrCat("SignedHeaders must include \"", name, "\"."));
      return;
    }
  }
  auto key = keys_.find(result.access_key_id);
  if (key == keys_.end()) {
    result.error = AccessKeyNotFound();
    return;
  }
  if (auto stale = CheckFreshness("x-acs-date", request.Header("x-acs-date"))) {
    result.error = std::move(stale);
    return;
  }
  const std::string body_hash = Sha256Hex(request.body);
  if (request.Header("x-acs-content-sha256") != body_hash) {
    result.error = GatewayError{
        400, "SignatureDoesNotMatch",
        absl::StrCat("The x-acs-content-sha256 header does not match the request body, whose "
                     "SHA-256 is ",
                     body_hash, ".")};
    return;
  }
  Acs3Input input{.method = request.method,
                  .path = request.path,
                  .query = request.query,
                  .headers = {},
                  .body = request.body};
  for (const std::string& name : signed_names) {
    input.headers.emplace(name, std::string(absl::StripAsciiWhitespace(request.Header(name))));
  }
  const Acs3Result expected = Acs3Sign(input, result.access_key_id, key->second.secret);
  if (expected.signed_headers != authorization->signed_headers ||
      expected.signature != authorization->signature) {
    result.error = SignatureMismatch(expected.string_to_sign);
    return;
  }
  if (request.Header("x-acs-security-token") != key->second.security_token) {
    result.error = TokenMismatch();
    return;
  }
  if (!nonces_.Remember(result.access_key_id, request.Header("x-acs-signature-nonce"))) {
    result.error = NonceUsed();
    return;
  }
  result.account = key->second.account;
}

}  // namespace ota
