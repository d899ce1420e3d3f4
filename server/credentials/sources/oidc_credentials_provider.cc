#include "server/credentials/sources/oidc_credentials_provider.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "server/base/alibaba_time.h"
#include "server/signing/rpc_signer.h"

namespace ota {
namespace {

constexpr char kAction[] = "AssumeRoleWithOIDC";

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    absl::StrAppend(&out, PercentEncode(name), "=", PercentEncode(value));
  }
  return out;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the OIDC token file ", path, " (ALIBABA_CLOUD_OIDC_TOKEN_FILE)"));
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string token(absl::StripAsciiWhitespace(text.str()));
  if (token.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("the OIDC token file ", path, " is empty"));
  }
  return token;
}

std::string StringField(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

absl::StatusOr<Credentials> ParseStsCredentials(const HttpResponse& response,
                                                const std::string& action) {
  const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (response.status != 200) {
    // Only the Code and RequestId are repeated: they identify the problem without echoing what
    // was sent.
    std::string detail;
    if (body.is_object()) {
      detail = absl::StrCat(", Code ", StringField(body, "Code"), ", RequestId ",
                            StringField(body, "RequestId"));
    }
    std::string message = absl::StrCat("STS ", action, " failed: HTTP ", response.status, detail);
    if (response.status >= 500 || response.status == 429) {
      return absl::UnavailableError(message);
    }
    return absl::FailedPreconditionError(message);
  }
  if (!body.is_object() || !body.contains("Credentials") || !body["Credentials"].is_object()) {
    return absl::InternalError(
        absl::StrCat("STS ", action, " answered HTTP 200 without a Credentials object"));
  }
  const nlohmann::json& fields = body["Credentials"];
  Credentials credentials{.access_key_id = StringField(fields, "AccessKeyId"),
                          .access_key_secret = StringField(fields, "AccessKeySecret"),
                          .security_token = StringField(fields, "SecurityToken")};
  if (credentials.access_key_id.empty() || credentials.access_key_secret.empty() ||
      credentials.security_token.empty()) {
    return absl::InternalError(absl::StrCat(
        "STS ", action,
        " answer lacks one of Credentials.AccessKeyId, AccessKeySecret, SecurityToken"));
  }
  absl::StatusOr<absl::Time> expiration = ParseAlibabaTime(StringField(fields, "Expiration"));
  if (!expiration.ok()) {
    return absl::InternalError(absl::StrCat("STS ", action, " answer: Credentials.Expiration ",
                                            expiration.status().message()));
  }
  credentials.expiration = *expiration;
  return credentials;
}

absl::StatusOr<OidcRoleConfig> OidcRoleConfigFromEnvironment(const EnvironmentLookup& environment) {
  OidcRoleConfig config{.role_arn = environment("ALIBABA_CLOUD_ROLE_ARN"),
                        .oidc_provider_arn = environment("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"),
                        .oidc_token_file = environment("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
                        .role_session_name = environment("ALIBABA_CLOUD_ROLE_SESSION_NAME")};
  std::vector<std::string> missing;
  if (config.role_arn.empty()) missing.emplace_back("ALIBABA_CLOUD_ROLE_ARN");
  if (config.oidc_provider_arn.empty()) missing.emplace_back("ALIBABA_CLOUD_OIDC_PROVIDER_ARN");
  if (config.oidc_token_file.empty()) missing.emplace_back("ALIBABA_CLOUD_OIDC_TOKEN_FILE");
  if (missing.size() == 3) {
    return absl::NotFoundError("no OIDC role configured (ALIBABA_CLOUD_ROLE_ARN, ...)");
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("incomplete OIDC (RRSA) configuration: ", absl::StrJoin(missing, ", "),
                     missing.size() == 1 ? " is" : " are", " not set while the others are"));
  }
  return config;
}

absl::Status ValidateOidcRoleConfig(const OidcRoleConfig& config, const std::string& origin) {
  std::vector<std::string> missing;
  if (config.role_arn.empty()) missing.emplace_back("role ARN");
  if (config.oidc_provider_arn.empty()) missing.emplace_back("OIDC provider ARN");
  if (config.oidc_token_file.empty()) missing.emplace_back("OIDC token file");
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": OIDC role lacks ", absl::StrJoin(missing, ", ")));
  }
  if (config.duration < absl::Minutes(15)) {
    return absl::InvalidArgumentError(
        absl::StrCat(origin, ": STS sessions last at least 15 minutes"));
  }
  return absl::OkStatus();
}

OidcCredentialsProvider::OidcCredentialsProvider(OidcRoleConfig config,
                                                 const std::string& sts_endpoint,
                                                 std::shared_ptr<CredentialsHttpClient> http,
                                                 const Clock& clock)
    : config_(std::move(config)),
      sts_endpoint_(absl::StripSuffix(sts_endpoint, "/")),
      http_(std::move(http)),
      clock_(clock) {}

absl::StatusOr<Credentials> OidcCredentialsProvider::Get() {
  absl::StatusOr<std::string> token = ReadTokenFile(config_.oidc_token_file);
  if (!token.ok()) return token.status();
  const absl::Time now = clock_.Now();
  const std::string session_name = config_.role_session_name.empty()
                                       ? absl::StrCat("ota-gateway-", absl::ToUnixSeconds(now))
                                       : config_.role_session_name;
  // Action, version and timestamp in the query (as the official SDKs send them); the token and the
  // rest in the form body, so nothing sensitive ends up in a URL or an access log.
  const std::string query = FormEncode({{"Action", kAction},
                                        {"Format", "JSON"},
                                        {"Version", "2015-04-01"},
                                        {"Timestamp", FormatAlibabaTimestamp(now)}});
  HttpRequest request{
      .method = "POST",
      .url = absl::StrCat(sts_endpoint_, "/?", query),
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                  {"Accept", "application/json"}},
      .body =
          FormEncode({{"RoleArn", config_.role_arn},
                      {"OIDCProviderArn", config_.oidc_provider_arn},
                      {"OIDCToken", *token},
                      {"RoleSessionName", session_name},
                      {"DurationSeconds", absl::StrCat(absl::ToInt64Seconds(config_.duration))}})};
  absl::StatusOr<HttpResponse> response = http_->Send(request);
  if (!response.ok()) {
    return absl::UnavailableError(
        absl::StrCat("STS ", kAction, " unreachable: ", response.status().message()));
  }
  return ParseStsCredentials(*response, kAction);
}

std::string OidcCredentialsProvider::RateBudgetIdentity() const {
  const std::vector<std::string> fields = absl::StrSplit(config_.role_arn, ':');
  if (fields.size() >= 5 && fields[0] == "acs" && fields[1] == "ram" && !fields[3].empty()) {
    return absl::StrCat("account:", fields[3]);
  }
  return absl::StrCat("role:", config_.role_arn);
}

std::string OidcCredentialsProvider::Describe() const {
  return absl::StrCat("OIDC role ", config_.role_arn, " via STS AssumeRoleWithOIDC at ",
                      sts_endpoint_, " (token file ", config_.oidc_token_file, ")");
}

}  // namespace ota
