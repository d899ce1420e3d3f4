#include "server/credentials/sources/credential_chain.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/credentials/sources/cli_config_credentials_provider.h"
#include "server/credentials/sources/credential_profile.h"
#include "server/credentials/sources/ecs_metadata_credentials_provider.h"
#include "server/credentials/sources/ini_credentials_provider.h"
#include "server/credentials/sources/oidc_credentials_provider.h"

namespace ota {
namespace {

// A temporary-credentials source whose description says where its configuration came from
// (e.g. which profile), so the start-up log is precise.
class DescribedSource final : public CredentialsProvider {
 public:
  DescribedSource(std::unique_ptr<CredentialsProvider> inner, std::string origin)
      : inner_(std::move(inner)), origin_(std::move(origin)) {}
  [[nodiscard]] absl::StatusOr<Credentials> Get() override { return inner_->Get(); }
  [[nodiscard]] std::string RateBudgetIdentity() const override {
    return inner_->RateBudgetIdentity();
  }
  [[nodiscard]] std::string Describe() const override {
    return origin_.empty() ? inner_->Describe() : absl::StrCat(origin_, ": ", inner_->Describe());
  }

 private:
  std::unique_ptr<CredentialsProvider> inner_;
  std::string origin_;
};

// The error of a source that is configured but unusable.
absl::Status Broken(absl::string_view source, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("credential source ", source,
                                   " is configured but unusable: ", status.message()));
}

bool IsTrue(const std::string& value) { return absl::AsciiStrToLower(value) == "true"; }

struct FileText {
  bool exists = false;
  std::string text;
};

absl::StatusOr<FileText> ReadIfExists(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return FileText{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return FileText{.exists = true, .text = text.str()};
}

class ChainBuilder {
 public:
  ChainBuilder(const CredentialChainOptions& options, const EnvironmentLookup& environment,
               CredentialsHttpClients http, const Clock& clock)
      : options_(options), env_(environment), http_(std::move(http)), clock_(clock) {}

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> Build() {
    // 1. Environment AccessKey.
    absl::StatusOr<std::unique_ptr<CredentialsProvider>> from_env =
        CredentialsFromEnvironment(env_);
    if (from_env.ok() || from_env.status().code() != absl::StatusCode::kNotFound) {
      if (!from_env.ok()) return Broken("environment", from_env.status());
      return from_env;
    }
    // 2. OIDC role from the environment (RRSA).
    absl::StatusOr<OidcRoleConfig> oidc = OidcRoleConfigFromEnvironment(env_);
    if (oidc.ok() || oidc.status().code() != absl::StatusCode::kNotFound) {
      constexpr char kName[] = "OIDC (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_*)";
      if (!oidc.ok()) return Broken(kName, oidc.status());
      absl::StatusOr<std::unique_ptr<CredentialsProvider>> provider = Temporary(*oidc, "");
      if (!provider.ok()) return Broken(kName, provider.status());
      return provider;
    }
    const std::string home = env_("HOME");
    const std::string profile = env_("ALIBABA_CLOUD_PROFILE");
    // 3. aliyun CLI config.json.
    if (!IsTrue(env_("ALIBABA_CLOUD_CLI_PROFILE_DISABLED"))) {
      absl::StatusOr<std::unique_ptr<CredentialsProvider>> cli = FromProfileFile(
          "ALIBABA_CLOUD_CONFIG_FILE", home.empty() ? "" : home + "/.aliyun/config.json",
          [&](const std::string& text, const std::string& path) {
            return ProfileFromCliConfig(text, path, profile);
          },
          /*missing_profile_is_error=*/profile.empty());
      if (cli.ok() || cli.status().code() != absl::StatusCode::kNotFound) return cli;
    }
    // 4. INI credentials file.
    absl::StatusOr<std::unique_ptr<CredentialsProvider>> ini = FromProfileFile(
        "ALIBABA_CLOUD_CREDENTIALS_FILE", home.empty() ? "" : home + "/.alibabacloud/credentials",
        [&](const std::string& text, const std::string& path) -> absl::StatusOr<CredentialProfile> {
          absl::StatusOr<IniFile> parsed = ParseIni(text, path);
          if (!parsed.ok()) return parsed.status();
          return ProfileFromIni(*parsed, path, profile.empty() ? "default" : profile);
        },
        /*missing_profile_is_error=*/false);
    if (ini.ok() || ini.status().code() != absl::StatusCode::kNotFound) return ini;
    if (!profile.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("ALIBABA_CLOUD_PROFILE names profile '", profile,
                       "', which neither the aliyun CLI config.json nor the credentials file has"));
    }
    // 5. ECS RAM role.
    if (!IsTrue(env_("ALIBABA_CLOUD_ECS_METADATA_DISABLED"))) {
      const std::string role = env_("ALIBABA_CLOUD_ECS_METADATA");
      if (!role.empty() || options_.discover_ecs_metadata) {
        absl::StatusOr<std::unique_ptr<CredentialsProvider>> ecs =
            Temporary(EcsRamRoleConfig{.role_name = role}, "");
        if (ecs.ok()) return ecs;
        const bool not_there = ecs.status().code() == absl::StatusCode::kNotFound ||
                               ecs.status().code() == absl::StatusCode::kUnavailable;
        if (!role.empty() || !not_there) {
          return Broken(role.empty() ? "ECS RAM role" : "ECS RAM role (ALIBABA_CLOUD_ECS_METADATA)",
                        ecs.status());
        }
        ecs_probe_result_ = absl::StrCat(" (ECS metadata: ", ecs.status().message(), ")");
      }
    }
    return absl::NotFoundError(absl::StrCat(
        "no Alibaba Cloud credentials configured: looked at ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET, "
        "the OIDC variables ALIBABA_CLOUD_ROLE_ARN/_OIDC_PROVIDER_ARN/_OIDC_TOKEN_FILE, "
        "~/.aliyun/config.json, ~/.alibabacloud/credentials and the ECS metadata service",
        ecs_probe_result_));
  }

 private:
  template <typename ParseProfile>
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> FromProfileFile(
      const char* path_variable, const std::string& default_path, ParseProfile parse,
      bool missing_profile_is_error) {
    const std::string explicit_path = env_(path_variable);
    const std::string path = explicit_path.empty() ? default_path : explicit_path;
    const std::string source =
        explicit_path.empty() ? path : absl::StrCat(path, " (", path_variable, ")");
    if (path.empty()) return absl::NotFoundError("no HOME");
    absl::StatusOr<FileText> file = ReadIfExists(path);
    if (!file.ok()) return Broken(source, file.status());
    if (!file->exists) {
      if (!explicit_path.empty()) {
        return Broken(source, absl::FailedPreconditionError(absl::StrCat(path, " does not exist")));
      }
      return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    }
    absl::StatusOr<CredentialProfile> profile = parse(file->text, path);
    if (!profile.ok()) {
      if (profile.status().code() == absl::StatusCode::kNotFound && !missing_profile_is_error) {
        return profile.status();
      }
      return Broken(source, profile.status());
    }
    absl::StatusOr<std::unique_ptr<CredentialsProvider>> provider = FromProfile(*profile);
    if (!provider.ok()) return Broken(profile->description, provider.status());
    return provider;
  }

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> FromProfile(CredentialProfile& profile) {
    if (auto* key = std::get_if<Credentials>(&profile.source)) {
      return std::make_unique<StaticCredentialsProvider>(*key, profile.description);
    }
    if (auto* oidc = std::get_if<OidcRoleConfig>(&profile.source)) {
      if (absl::Status valid = ValidateOidcRoleConfig(*oidc, profile.description); !valid.ok()) {
        return valid;
      }
      return Temporary(*oidc, profile.description);
    }
    return Temporary(std::get<EcsRamRoleConfig>(profile.source), profile.description);
  }

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> Temporary(const OidcRoleConfig& config,
                                                                 const std::string& origin) {
    return Refreshing(std::make_unique<DescribedSource>(
        std::make_unique<OidcCredentialsProvider>(config, options_.sts_endpoint, http_.sts, clock_),
        origin));
  }

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> Temporary(const EcsRamRoleConfig& config,
                                                                 const std::string& origin) {
    return Refreshing(std::make_unique<DescribedSource>(
        std::make_unique<EcsMetadataCredentialsProvider>(config, options_.ecs_metadata_endpoint,
                                                         http_.metadata),
        origin));
  }

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> Refreshing(
      std::unique_ptr<CredentialsProvider> source) {
    absl::StatusOr<std::unique_ptr<RefreshingCredentialsProvider>> provider =
        RefreshingCredentialsProvider::Create(std::move(source), clock_, options_.refresh);
    if (!provider.ok()) return provider.status();
    if (options_.start_background_refresh) (*provider)->StartBackgroundRefresh();
    return std::unique_ptr<CredentialsProvider>(*std::move(provider));
  }

  const CredentialChainOptions& options_;
  const EnvironmentLookup& env_;
  CredentialsHttpClients http_;
  const Clock& clock_;
  std::string ecs_probe_result_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<CredentialsProvider>> MakeCredentialChain(
    const CredentialChainOptions& options, const EnvironmentLookup& environment,
    CredentialsHttpClients http, const Clock& clock) {
  return ChainBuilder(options, environment, std::move(http), clock).Build();
}

}  // namespace ota
