#include "server/credentials/credentials.h"

#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ota {
namespace {

std::string EnvOrEmpty(const char* name) {
  // Read once at start-up, before any thread exists.
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

EnvironmentLookup ProcessEnvironment() { return EnvOrEmpty; }

absl::StatusOr<std::unique_ptr<CredentialsProvider>> CredentialsFromEnvironment() {
  return CredentialsFromEnvironment(ProcessEnvironment());
}

absl::StatusOr<std::unique_ptr<CredentialsProvider>> CredentialsFromEnvironment(
    const EnvironmentLookup& environment) {
  Credentials credentials{.access_key_id = environment("ALIBABA_CLOUD_ACCESS_KEY_ID"),
                          .access_key_secret = environment("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
                          .security_token = environment("ALIBABA_CLOUD_SECURITY_TOKEN")};
  const bool has_id = !credentials.access_key_id.empty();
  const bool has_secret = !credentials.access_key_secret.empty();
  if (!has_id && !has_secret) {
    return absl::NotFoundError(
        "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET (and ALIBABA_CLOUD_SECURITY_TOKEN for STS credentials)");
  }
  if (!has_id || !has_secret) {
    return absl::InvalidArgumentError(
        absl::StrCat("incomplete Alibaba Cloud credentials: ",
                     has_id ? "ALIBABA_CLOUD_ACCESS_KEY_SECRET" : "ALIBABA_CLOUD_ACCESS_KEY_ID",
                     " is not set while its pair is"));
  }
  std::string description =
      absl::StrCat("environment (AccessKeyId ", MaskAccessKeyId(credentials.access_key_id),
                   credentials.security_token.empty() ? ")" : ", with STS security token)");
  return std::make_unique<StaticCredentialsProvider>(std::move(credentials),
                                                     std::move(description));
}

std::string MaskAccessKeyId(const std::string& access_key_id) {
  if (access_key_id.size() <= 8) return "****";
  return absl::StrCat(access_key_id.substr(0, 4), "****",
                      access_key_id.substr(access_key_id.size() - 2));
}

}  // namespace ota
