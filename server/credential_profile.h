// CredentialProfile: what a named profile of a credentials file asks for, before any network call.
//
// Both profile files (the SDKs' INI `~/.alibabacloud/credentials` and the aliyun CLI's
// `~/.aliyun/config.json`) describe one of three kinds of source; the credential chain turns a
// profile into a provider (a fixed key, or a refreshing STS/ECS source).
//
//   absl::StatusOr<ota::CredentialProfile> profile = ota::ProfileFromCliConfig(text, path, "");
//   if (auto* key = std::get_if<ota::Credentials>(&profile->source)) { /* a fixed key */ }
#pragma once

#include <string>
#include <variant>

#include "server/credentials.h"
#include "server/ecs_metadata_credentials_provider.h"
#include "server/oidc_credentials_provider.h"

namespace ota {

struct CredentialProfile {
  // A fixed AccessKey (with a security token for an STS key), an OIDC role, or an ECS RAM role.
  std::variant<Credentials, OidcRoleConfig, EcsRamRoleConfig> source;
  // E.g. "profile 'default' (access_key) of /home/me/.alibabacloud/credentials"; no secrets.
  std::string description;
};

}  // namespace ota
