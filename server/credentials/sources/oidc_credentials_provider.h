// OidcCredentialsProvider: temporary credentials for a RAM role, obtained by trading an OIDC token
// (RRSA on Alibaba Cloud Kubernetes: a service-account token the kubelet keeps fresh in a file) at
// STS `AssumeRoleWithOIDC` (STS API 2015-04-01).
//
// The call is anonymous (the OIDC token is the proof), HTTPS, and sends the token in the POST body
// so it never appears in a URL. The token file is read again on every fetch because the kubelet
// rotates it. Each Get() is one network round trip: wrap the provider in a
// RefreshingCredentialsProvider, which calls it only when the credentials need renewing.
//
//   absl::StatusOr<ota::OidcRoleConfig> role = ota::OidcRoleConfigFromEnvironment(environment);
//   ota::OidcCredentialsProvider sts(*role, "https://sts.aliyuncs.com", http, clock);
//   absl::StatusOr<ota::Credentials> credentials = sts.Get();  // expiration set from STS's answer
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/credentials/credentials.h"
#include "server/http/credentials_http_client.h"

namespace ota {

struct OidcRoleConfig {
  std::string role_arn;                      // acs:ram::<account>:role/<name>
  std::string oidc_provider_arn;             // acs:ram::<account>:oidc-provider/<name>
  std::string oidc_token_file;               // path of the OIDC token
  std::string role_session_name;             // empty: "ota-gateway-<unix seconds>"
  absl::Duration duration = absl::Hours(1);  // STS accepts 15 min up to the role's maximum
};

// From ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE and
// the optional ALIBABA_CLOUD_ROLE_SESSION_NAME. NOT_FOUND when none of the three is set;
// INVALID_ARGUMENT naming the missing ones when only some are.
[[nodiscard]] absl::StatusOr<OidcRoleConfig> OidcRoleConfigFromEnvironment(
    const EnvironmentLookup& environment);

// Checks that a config names a role, a provider and a token file (INVALID_ARGUMENT otherwise;
// `origin` says where the config came from, e.g. a profile).
[[nodiscard]] absl::Status ValidateOidcRoleConfig(const OidcRoleConfig& config,
                                                  const std::string& origin);

class OidcCredentialsProvider final : public CredentialsProvider {
 public:
  // `sts_endpoint`: scheme and host, e.g. https://sts.aliyuncs.com (http:// only for local fakes).
  OidcCredentialsProvider(OidcRoleConfig config, const std::string& sts_endpoint,
                          std::shared_ptr<CredentialsHttpClient> http, const Clock& clock);
  // One AssumeRoleWithOIDC call. FAILED_PRECONDITION when the token file cannot be read or STS
  // refuses (its Code and RequestId in the message), UNAVAILABLE when STS cannot be reached or
  // answers 5xx, INTERNAL for an answer without usable credentials.
  [[nodiscard]] absl::StatusOr<Credentials> Get() override;
  [[nodiscard]] std::string Describe() const override;
  // "account:<id>" from the role ARN (acs:ram::<id>:role/<name>): every replica assuming any
  // role of the account shares its budget. The whole ARN when it has no account field.
  [[nodiscard]] std::string RateBudgetIdentity() const override;

 private:
  OidcRoleConfig config_;
  std::string sts_endpoint_;
  std::shared_ptr<CredentialsHttpClient> http_;
  const Clock& clock_;
};

// Parses an STS answer that carries {"Credentials": {AccessKeyId, AccessKeySecret, SecurityToken,
// Expiration}} (AssumeRole, AssumeRoleWithOIDC). Exposed for tests.
[[nodiscard]] absl::StatusOr<Credentials> ParseStsCredentials(const HttpResponse& response,
                                                              const std::string& action);

}  // namespace ota
