// aliyun CLI configuration (`~/.aliyun/config.json`, or ALIBABA_CLOUD_CONFIG_FILE): the profiles
// that `aliyun configure` writes, read the way the official SDKs read them.
//
//   {"current": "default",
//    "profiles": [{"name": "default", "mode": "AK", "access_key_id": "LTAI...",
//                  "access_key_secret": "..."}]}
//
// Modes and their fields: AK: access_key_id, access_key_secret; StsToken: those and sts_token;
// EcsRamRole: ram_role_name (optional); OIDC: ram_role_arn, oidc_provider_arn, oidc_token_file,
// ram_session_name (optional), expired_seconds (optional). Other modes (RamRoleArn, OAuth,
// CloudSSO, ...) are recognised but not supported by ota-gateway, and say so.
//
//   absl::StatusOr<ota::CredentialProfile> profile =
//       ota::ProfileFromCliConfig(text, "/home/me/.aliyun/config.json", /*name=*/"");  // current
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/credentials/sources/credential_profile.h"

namespace ota {

// The profile `name` (empty: the file's "current" profile). NOT_FOUND when no profile has that
// name; INVALID_ARGUMENT naming the file and the line (bad JSON) or the field (e.g.
// profiles[1].access_key_id) otherwise; UNIMPLEMENTED for a mode ota-gateway does not support.
// Errors never quote values, which may be secrets.
[[nodiscard]] absl::StatusOr<CredentialProfile> ProfileFromCliConfig(absl::string_view text,
                                                                     absl::string_view file_name,
                                                                     absl::string_view name);

}  // namespace ota
