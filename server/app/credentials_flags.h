// Credentials flags: where the temporary-credential services are, for the credential chain.
//
//   --sts-endpoint=https://sts.aliyuncs.com          STS for AssumeRoleWithOIDC (OTA_STS_ENDPOINT)
//   --ecs-metadata-endpoint=http://100.100.100.200    ECS metadata service
//   (OTA_ECS_METADATA_ENDPOINT)
//
// Both exist so tests can point them at a local fake; http:// STS is for such tests only (the
// OIDC token would cross the network in clear).
//
//   ota::ApplyCredentialsEnvironmentFallbacks();   // before absl::ParseCommandLine
//   absl::StatusOr<ota::CredentialChainOptions> options =
//       ota::LoadCredentialChainOptions(/*emulator_mode=*/false);
#pragma once

#include "absl/status/statusor.h"
#include "server/credentials/sources/credential_chain.h"

namespace ota {

void ApplyCredentialsEnvironmentFallbacks();

// INVALID_ARGUMENT naming the flag when an endpoint is not an http(s) URL without path or query.
// In emulator mode the ECS metadata service is only probed when --ecs-metadata-endpoint is given.
[[nodiscard]] absl::StatusOr<CredentialChainOptions> LoadCredentialChainOptions(bool emulator_mode);

}  // namespace ota
