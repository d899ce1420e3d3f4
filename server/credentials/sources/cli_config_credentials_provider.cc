#include "server/credentials/sources/cli_config_credentials_provider.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace ota {
namespace {

absl::Status FieldError(absl::string_view file_name, absl::string_view field,
                        absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(file_name, ": ", field, " ", problem));
}

}  // namespace

absl::StatusOr<CredentialProfile> ProfileFromCliConfig(absl::string_view text,
                                                       absl::string_view file_name,
                                                       absl::string_view name) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& error) {
    // Only the position is reported: nlohmann's message quotes the text near the error, which
    // could be a secret.
    const std::size_t byte = std::min<std::size_t>(error.byte, text.size());
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(byte), '\n');
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ":", line, ": not valid JSON (aliyun CLI config.json expected)"));
  }
  if (!config.is_object()) return FieldError(file_name, "the top level", "must be a JSON object");
  std::string wanted(name);
  if (wanted.empty()) {
    auto current = config.find("current");
    if (current == config.end() || !current->is_string() || current->get<std::string>().empty()) {
      return FieldError(file_name, "current", "must name the profile to use");
    }
    wanted = current->get<std::string>();
  }
  auto profiles = config.find("profiles");
  if (profiles == config.end() || !profiles->is_array()) {
    return FieldError(file_name, "profiles", "must be an array");
  }
  for (std::size_t i = 0; i < profiles->size(); ++i) {
    const nlohmann::json& profile = (*profiles)[i];
    const std::string where = absl::StrCat("profiles[", i, "]");
    if (!profile.is_object()) return FieldError(file_name, where, "must be an object");
    auto profile_name = profile.find("name");
    if (profile_name == profile.end() || !profile_name->is_string() ||
        profile_name->get<std::string>() != wanted) {
      continue;
    }
    // A string field, or "" when absent; a field of another type is an error.
    absl::Status type_error = absl::OkStatus();
    auto field = [&](const char* key) -> std::string {
      auto it = profile.find(key);
      if (it == profile.end() || it->is_null()) return "";
      if (!it->is_string()) {
        type_error = FieldError(file_name, absl::StrCat(where, ".", key), "must be a string");
        return "";
      }
      return it->get<std::string>();
    };
    auto required = [&](const char* key) -> absl::StatusOr<std::string> {
      std::string value = field(key);
      if (!type_error.ok()) return type_error;
      if (value.empty()) {
        return FieldError(file_name, absl::StrCat(where, ".", key), "is missing or empty");
      }
      return value;
    };
    absl::StatusOr<std::string> mode = required("mode");
    if (!mode.ok()) return mode.status();
    const std::string description =
        absl::StrCat("aliyun CLI profile '", wanted, "' (mode ", *mode, ") of ", file_name);

    if (*mode == "AK" || *mode == "StsToken") {
      absl::StatusOr<std::string> id = required("access_key_id");
      if (!id.ok()) return id.status();
      absl::StatusOr<std::string> secret = required("access_key_secret");
      if (!secret.ok()) return secret.status();
      std::string token;
      if (*mode == "StsToken") {
        absl::StatusOr<std::string> sts_token = required("sts_token");
        if (!sts_token.ok()) return sts_token.status();
        token = *std::move(sts_token);
      }
      return FixedKeyProfile(*std::move(id), *std::move(secret), std::move(token), description);
    }
    if (*mode == "EcsRamRole") {
      std::string role = field("ram_role_name");
      if (!type_error.ok()) return type_error;
      return CredentialProfile{.source = EcsRamRoleConfig{.role_name = std::move(role)},
                               .description = description};
    }
    if (*mode == "OIDC") {
      OidcRoleConfig role;
      for (auto [key, target] : {std::pair{"ram_role_arn", &role.role_arn},
                                 std::pair{"oidc_provider_arn", &role.oidc_provider_arn},
                                 std::pair{"oidc_token_file", &role.oidc_token_file}}) {
        absl::StatusOr<std::string> value = required(key);
        if (!value.ok()) return value.status();
        *target = *std::move(value);
      }
      role.role_session_name = field("ram_session_name");
      if (!type_error.ok()) return type_error;
      if (auto seconds = profile.find("expired_seconds");
          seconds != profile.end() && !seconds->is_null()) {
        if (!seconds->is_number_integer()) {
          return FieldError(file_name, absl::StrCat(where, ".expired_seconds"),
                            "must be a whole number of seconds");
        }
        // The CLI writes 0 for "default".
        if (seconds->get<long long>() > 0) role.duration = absl::Seconds(seconds->get<long long>());
      }
      return CredentialProfile{.source = std::move(role), .description = description};
    }
    return absl::UnimplementedError(absl::StrCat(
        file_name, ": ", where, ".mode is ", *mode,
        ", which ota-gateway does not support (use AK, StsToken, EcsRamRole or OIDC)"));
  }
  return absl::NotFoundError(absl::StrCat(file_name, " has no profile named '", wanted, "'"));
}

}  // namespace ota
