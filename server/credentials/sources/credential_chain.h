// Credential chain: picks where ota-gateway's Alibaba Cloud credentials come from, in the order of
// the official SDKs' default chain:
//
//   1. environment   ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (+ ALIBABA_CLOUD_SECURITY_TOKEN)
//   2. OIDC (RRSA)   ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
//                    ALIBABA_CLOUD_OIDC_TOKEN_FILE (+ ALIBABA_CLOUD_ROLE_SESSION_NAME)
//                    -> STS AssumeRoleWithOIDC
//   3. aliyun CLI    ~/.aliyun/config.json or ALIBABA_CLOUD_CONFIG_FILE; profile
//                    ALIBABA_CLOUD_PROFILE or the file's "current"
//   4. INI file      ~/.alibabacloud/credentials or ALIBABA_CLOUD_CREDENTIALS_FILE; profile
//                    ALIBABA_CLOUD_PROFILE or [default]
//   5. ECS RAM role  the instance metadata service (role ALIBABA_CLOUD_ECS_METADATA or the attached
//                    one); ALIBABA_CLOUD_ECS_METADATA_DISABLED=true skips it
//
// The first source that is configured wins. A source that is configured but broken (a half-set
// pair, a bad profile, STS refusing the token) is an error naming the source: falling through
// to the next source would silently run the gateway as someone else. Temporary credentials
// (OIDC, ECS, and profiles of those kinds) are wrapped in a RefreshingCredentialsProvider whose
// first fetch happens here, so a gateway that starts has working credentials.
//
//   auto http = std::make_shared<ota::CurlCredentialsHttpClient>(ota::CredentialsHttpOptions{});
//   absl::StatusOr<std::unique_ptr<ota::CredentialsProvider>> credentials =
//   ota::MakeCredentialChain(
//       {}, ota::ProcessEnvironment(), {.sts = http, .metadata = http}, ota::SystemClock::Get());
//   // NOT_FOUND: nothing configured anywhere; any other error: a configured source is broken.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/base/clock.h"
#include "server/credentials/credentials.h"
#include "server/credentials/refreshing_credentials_provider.h"
#include "server/http/credentials_http_client.h"

namespace ota {

inline constexpr char kDefaultStsEndpoint[] = "https://sts.aliyuncs.com";
inline constexpr char kDefaultEcsMetadataEndpoint[] = "http://100.100.100.200";

struct CredentialChainOptions {
  std::string sts_endpoint = kDefaultStsEndpoint;
  std::string ecs_metadata_endpoint = kDefaultEcsMetadataEndpoint;
  // When nothing else is configured (and ALIBABA_CLOUD_ECS_METADATA is unset), ask the metadata
  // service whether this is an ECS instance with a RAM role. If it cannot be reached or has no
  // role, the chain reports NOT_FOUND. Off in emulator mode unless the endpoint is given, so a
  // laptop does not wait for 100.100.100.200.
  bool discover_ecs_metadata = true;
  // Start the refresh thread of temporary credentials (tests on a FakeClock turn it off).
  bool start_background_refresh = true;
  RefreshOptions refresh = {};
};

// STS sits across the internet, the metadata service one hop away: each gets its own timeouts.
struct CredentialsHttpClients {
  std::shared_ptr<CredentialsHttpClient> sts;
  std::shared_ptr<CredentialsHttpClient> metadata;
};

[[nodiscard]] absl::StatusOr<std::unique_ptr<CredentialsProvider>> MakeCredentialChain(
    const CredentialChainOptions& options, const EnvironmentLookup& environment,
    CredentialsHttpClients http, const Clock& clock);

}  // namespace ota
