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
#include <utility>
#include <variant>

#include "server/credentials/credentials.h"
#include "server/credentials/sources/ecs_metadata_credentials_provider.h"
#include "server/credentials/sources/oidc_credentials_provider.h"

namespace ota {

struct CredentialProfile {
  // A fixed AccessKey (with a security token for an STS key), an OIDC role, or an ECS RAM role.
  std::variant<Credentials, OidcRoleConfig, EcsRamRoleConfig> source;
  // E.g. "profile 'default' (access_key) of /home/me/.alibabacloud/credentials"; no secrets.
  std::string description;
};

// A profile holding a fixed key (`security_token` empty unless it is an STS key); its description
// gains the masked AccessKeyId.
[[nodiscard]] inline CredentialProfile FixedKeyProfile(std::string access_key_id,
                                                       std::string access_key_secret,
                                                       std::string security_token,
                                                       const std::string& description) {
  std::string masked = MaskAccessKeyId(access_key_id);
  return CredentialProfile{.source = Credentials{.access_key_id = std::move(access_key_id),
                                                 .access_key_secret = std::move(access_key_secret),
                                                 .security_token = std::move(security_token)},
                           .description = description + ", AccessKeyId " + masked};
}

}  // namespace ota
