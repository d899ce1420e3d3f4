#include "server/credentials/rate_budget_key.h"

#include <utility>

namespace ota {

RateBudgetKey ChooseRateBudgetKey(std::string configured, const CredentialsProvider& credentials) {
  if (!configured.empty()) {
    return {.fixed = std::move(configured), .source = RateBudgetKey::Source::kConfigured};
  }
  if (std::string principal = credentials.RateBudgetIdentity(); !principal.empty()) {
    return {.fixed = std::move(principal), .source = RateBudgetKey::Source::kPrincipal};
  }
  return {.fixed = "", .source = RateBudgetKey::Source::kAccessKeyId};
}

}  // namespace ota
