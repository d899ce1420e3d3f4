// RateBudgetKey: the name of the rate budget an attempt takes its slot from, i.e. whom Alibaba
// counts the quota for. One rule, used by the runner, by in-flight sharing and at start-up:
//
//   1. --limiter-key when set (best: the Alibaba account ID joins every key of the account);
//   2. else whom the credentials act for (CredentialsProvider::RateBudgetIdentity: the account of
//      an OIDC role, an ECS role), which stays the same across refreshes and replicas;
//   3. else the AccessKeyId of the credentials an attempt is signed with.
//
//   ota::RateBudgetKey key = ota::ChooseRateBudgetKey(config.limiter_key, *provider);
//   limiter.Reserve(key.For(*provider->Get()), ...);
#pragma once

#include <string>

#include "server/credentials/credentials.h"

namespace ota {

struct RateBudgetKey {
  enum class Source { kConfigured, kPrincipal, kAccessKeyId };

  std::string fixed;  // empty: each attempt's AccessKeyId (source kAccessKeyId)
  Source source = Source::kAccessKeyId;

  // The budget of an attempt signed with `current`.
  [[nodiscard]] const std::string& For(const Credentials& current) const {
    return fixed.empty() ? current.access_key_id : fixed;
  }
};

// Rules 1 and 2 above are decided once, at start-up; rule 3 per attempt (For).
[[nodiscard]] RateBudgetKey ChooseRateBudgetKey(std::string configured,
                                                const CredentialsProvider& credentials);

}  // namespace ota
