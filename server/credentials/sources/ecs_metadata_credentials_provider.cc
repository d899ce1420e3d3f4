#include "server/credentials/sources/ecs_metadata_credentials_provider.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "server/base/alibaba_time.h"
#include "server/credentials/sources/oidc_credentials_provider.h"

namespace ota {
namespace {

constexpr char kCredentialsPath[] = "/latest/meta-data/ram/security-credentials/";
// The session token only has to outlive one fetch; the official SDKs ask for 6 hours.
constexpr char kTokenTtlSeconds[] = "21600";

absl::Status StatusForReply(int status, const std::string& what) {
  const std::string message =
      absl::StrCat("ECS metadata service: ", what, " answered HTTP ", status);
  if (status == 404) return absl::NotFoundError(message);
  if (status >= 500) return absl::UnavailableError(message);
  return absl::FailedPreconditionError(message);
}

std::string StringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

EcsMetadataCredentialsProvider::EcsMetadataCredentialsProvider(
    EcsRamRoleConfig config, const std::string& metadata_endpoint,
    std::shared_ptr<CredentialsHttpClient> http)
    : config_(std::move(config)),
      endpoint_(absl::StripSuffix(metadata_endpoint, "/")),
      http_(std::move(http)) {}

absl::StatusOr<std::string> EcsMetadataCredentialsProvider::Read(const std::string& path,
                                                                 const std::string& token) {
  absl::StatusOr<HttpResponse> reply =
      http_->Send({.method = "GET",
                   .url = absl::StrCat(endpoint_, path),
                   .headers = {{"X-aliyun-ecs-metadata-token", token}},
                   .body = ""});
  if (!reply.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ECS metadata service unreachable: ", reply.status().message()));
  }
  if (reply->status != 200) return StatusForReply(reply->status, absl::StrCat("GET ", path));
  return std::move(reply->body);
}

absl::StatusOr<Credentials> EcsMetadataCredentialsProvider::Get() {
  absl::StatusOr<HttpResponse> token_reply =
      http_->Send({.method = "PUT",
                   .url = absl::StrCat(endpoint_, "/latest/api/token"),
                   .headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", kTokenTtlSeconds}},
                   .body = ""});
  if (!token_reply.ok()) {
    return absl::UnavailableError(
        absl::StrCat("ECS metadata service unreachable: ", token_reply.status().message()));
  }
  if (token_reply->status != 200) {
    return StatusForReply(token_reply->status, "PUT /latest/api/token");
  }
  const std::string token(absl::StripAsciiWhitespace(token_reply->body));

  std::string role = config_.role_name;
  if (role.empty()) {
    absl::StatusOr<std::string> roles = Read(kCredentialsPath, token);
    if (!roles.ok()) return roles.status();
    // One role per instance; the listing is that name (the first line, should there be more).
    std::vector<std::string> lines =
        absl::StrSplit(absl::StripAsciiWhitespace(*roles), '\n', absl::SkipWhitespace());
    if (lines.empty()) {
      return absl::NotFoundError("ECS metadata service: no RAM role is attached to this instance");
    }
    role = std::string(absl::StripAsciiWhitespace(lines.front()));
  }
  if (role.find_first_of("/?#") != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("ECS RAM role name '", role, "' is not valid"));
  }
  absl::StatusOr<std::string> document = Read(absl::StrCat(kCredentialsPath, role), token);
  if (!document.ok()) return document.status();
  const nlohmann::json body = nlohmann::json::parse(*document, nullptr, false);
  if (!body.is_object()) {
    return absl::InternalError(
        absl::StrCat("ECS metadata service: credentials of role ", role, " are not JSON"));
  }
  if (StringField(body, "Code") != "Success") {
    return absl::FailedPreconditionError(absl::StrCat("ECS metadata service: credentials of role ",
                                                      role, " have Code '",
                                                      StringField(body, "Code"), "', not Success"));
  }
  Credentials credentials{.access_key_id = StringField(body, "AccessKeyId"),
                          .access_key_secret = StringField(body, "AccessKeySecret"),
                          .security_token = StringField(body, "SecurityToken")};
  if (credentials.access_key_id.empty() || credentials.access_key_secret.empty() ||
      credentials.security_token.empty()) {
    return absl::InternalError(
        absl::StrCat("ECS metadata service: credentials of role ", role,
                     " lack one of AccessKeyId, AccessKeySecret, SecurityToken"));
  }
  absl::StatusOr<absl::Time> expiration = ParseAlibabaTime(StringField(body, "Expiration"));
  if (!expiration.ok()) {
    return absl::InternalError(absl::StrCat("ECS metadata service: role ", role, " Expiration ",
                                            expiration.status().message()));
  }
  credentials.expiration = *expiration;
  {
    const std::lock_guard<std::mutex> lock(role_mutex_);
    discovered_role_ = role;
  }
  return credentials;
}

std::string EcsMetadataCredentialsProvider::RateBudgetIdentity() const {
  const std::lock_guard<std::mutex> lock(role_mutex_);
  return absl::StrCat("ecs-ram-role:",
                      config_.role_name.empty() ? discovered_role_ : config_.role_name);
}

std::string EcsMetadataCredentialsProvider::Describe() const {
  return absl::StrCat("ECS RAM role ",
                      config_.role_name.empty() ? "(attached to the instance)" : config_.role_name,
                      " via the metadata service at ", endpoint_);
}

}  // namespace ota
