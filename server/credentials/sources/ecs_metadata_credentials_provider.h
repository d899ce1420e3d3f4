// EcsMetadataCredentialsProvider: the temporary credentials of the RAM role attached to the ECS
// instance, from the instance metadata service (http://100.100.100.200).
//
// Hardened mode only (the IMDSv2 style): every fetch first asks for a session token with
//   PUT /latest/api/token            X-aliyun-ecs-metadata-token-ttl-seconds: 21600
// and sends it with each read as X-aliyun-ecs-metadata-token:
//   GET /latest/meta-data/ram/security-credentials/            -> the role name (if not given)
//   GET /latest/meta-data/ram/security-credentials/<role>      -> {"Code":"Success", AccessKeyId,
//                                                                  AccessKeySecret, SecurityToken,
//                                                                  Expiration, LastUpdated}
// Each Get() is a few round trips: wrap it in a RefreshingCredentialsProvider.
//
//   ota::EcsMetadataCredentialsProvider ecs({.role_name = ""}, "http://100.100.100.200", http);
//   absl::StatusOr<ota::Credentials> credentials = ecs.Get();
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "server/credentials/credentials.h"
#include "server/http/credentials_http_client.h"

namespace ota {

struct EcsRamRoleConfig {
  std::string role_name;  // empty: ask the metadata service which role is attached
};

class EcsMetadataCredentialsProvider final : public CredentialsProvider {
 public:
  EcsMetadataCredentialsProvider(EcsRamRoleConfig config, const std::string& metadata_endpoint,
                                 std::shared_ptr<CredentialsHttpClient> http);
  // UNAVAILABLE when the metadata service cannot be reached or answers 5xx; NOT_FOUND when it
  // answers but no RAM role is attached (or the named one is not); FAILED_PRECONDITION for any
  // other refusal; INTERNAL for an answer without usable credentials.
  [[nodiscard]] absl::StatusOr<Credentials> Get() override;
  [[nodiscard]] std::string Describe() const override;
  // "ecs-ram-role:<name>" (the named or the discovered role): the metadata service does not say
  // which account the role belongs to, and the role is what every replica shares.
  [[nodiscard]] std::string RateBudgetIdentity() const override;

 private:
  absl::StatusOr<std::string> Read(const std::string& path, const std::string& token);

  EcsRamRoleConfig config_;
  std::string endpoint_;
  std::shared_ptr<CredentialsHttpClient> http_;
  mutable std::mutex role_mutex_;
  std::string discovered_role_;  // the role the last Get() used
};

}  // namespace ota
