#include "server/app/credentials_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli_flags/environment_flags.h"

ABSL_FLAG(std::string, sts_endpoint, ota::kDefaultStsEndpoint,
          "STS endpoint for OIDC (RRSA) credentials, scheme and host (http:// only for local "
          "tests).");
ABSL_FLAG(std::string, ecs_metadata_endpoint, ota::kDefaultEcsMetadataEndpoint,
          "ECS instance metadata service, for the credentials of the instance's RAM role.");

namespace ota {
namespace {

absl::StatusOr<std::string> CheckEndpoint(const char* flag, const std::string& url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "https://") && !absl::ConsumePrefix(&rest, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": must start with https:// or http://"));
  }
  rest = absl::StripSuffix(rest, "/");
  if (rest.empty() || rest.find_first_of("/?#@ ") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, ": must be a scheme and host[:port] only, e.g. https://sts.aliyuncs.com"));
  }
  return std::string(absl::StripSuffix(url, "/"));
}

}  // namespace

void ApplyCredentialsEnvironmentFallbacks() {
  ApplyEnvironmentFallbacks("ota-gateway", "OTA_", {"sts_endpoint", "ecs_metadata_endpoint"});
}

absl::StatusOr<CredentialChainOptions> LoadCredentialChainOptions(bool emulator_mode) {
  CredentialChainOptions options;
  absl::StatusOr<std::string> sts =
      CheckEndpoint("sts-endpoint", absl::GetFlag(FLAGS_sts_endpoint));
  if (!sts.ok()) return sts.status();
  absl::StatusOr<std::string> metadata =
      CheckEndpoint("ecs-metadata-endpoint", absl::GetFlag(FLAGS_ecs_metadata_endpoint));
  if (!metadata.ok()) return metadata.status();
  options.sts_endpoint = *std::move(sts);
  options.ecs_metadata_endpoint = *std::move(metadata);
  options.discover_ecs_metadata =
      !emulator_mode || options.ecs_metadata_endpoint != kDefaultEcsMetadataEndpoint;
  return options;
}

}  // namespace ota
