// Credentials: the Alibaba Cloud AccessKey the gateway signs with, and where it comes from.
//
// A CredentialsProvider hands out the current credentials for each attempt, so providers that
// refresh temporary (STS) credentials can swap them without the callers noticing. The secret is
// kept out of every log and error: `Credentials` has no streaming operator on purpose, and
// `Describe()` names the source, never the values.
//
//   auto provider = ota::EnvironmentCredentialsProvider::FromEnvironment();
//   if (!provider.ok()) { /* refuse to start, print provider.status() */ }
//   absl::StatusOr<ota::Credentials> creds = (*provider)->Get();
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

struct Credentials {
  std::string access_key_id;
  std::string access_key_secret;
  std::string security_token;  // empty unless the key is a temporary STS credential
  // When temporary credentials stop working; InfiniteFuture for a long-lived AccessKey.
  absl::Time expiration = absl::InfiniteFuture();
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  [[nodiscard]] virtual absl::StatusOr<Credentials> Get() = 0;
  // A human-readable description of the source (for start-up logs); never contains secrets.
  [[nodiscard]] virtual std::string Describe() const = 0;
  // Whom the credentials act for, stable across refreshes and replicas, to key the account's
  // shared rate budget when --limiter-key is not set. Temporary credentials get a new AccessKeyId
  // at every refresh and on every replica, so keying the budget by it would split the one quota
  // Alibaba enforces into many; their providers name the account or role instead. Empty: the
  // AccessKeyId is stable and serves as the key.
  [[nodiscard]] virtual std::string RateBudgetIdentity() const { return ""; }
};

// Fixed credentials (tests, emulator mode).
class StaticCredentialsProvider final : public CredentialsProvider {
 public:
  StaticCredentialsProvider(Credentials credentials, std::string description)
      : credentials_(std::move(credentials)), description_(std::move(description)) {}
  [[nodiscard]] absl::StatusOr<Credentials> Get() override { return credentials_; }
  [[nodiscard]] std::string Describe() const override { return description_; }

 private:
  Credentials credentials_;
  std::string description_;
};

// Looks up an environment variable; "" when unset. Injected so the credential sources can be tested
// without touching the process environment.
using EnvironmentLookup = std::function<std::string(const char* name)>;

// The real process environment (std::getenv). Only for start-up, before other threads exist.
[[nodiscard]] EnvironmentLookup ProcessEnvironment();

// Reads ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and the optional
// ALIBABA_CLOUD_SECURITY_TOKEN once. NOT_FOUND when the id or secret is missing, so the caller can
// tell "not configured" from "badly configured" (INVALID_ARGUMENT, e.g. only one of the pair set).
[[nodiscard]] absl::StatusOr<std::unique_ptr<CredentialsProvider>> CredentialsFromEnvironment(
    const EnvironmentLookup& environment);
[[nodiscard]] absl::StatusOr<std::unique_ptr<CredentialsProvider>> CredentialsFromEnvironment();

// Masks an AccessKeyId for logs: the first 4 and last 2 characters stay, e.g. "LTAI****3x".
[[nodiscard]] std::string MaskAccessKeyId(const std::string& access_key_id);

}  // namespace ota
