// Limiter factory: builds the gateway's RateLimiter from its LimiterConfig: the in-process budget,
// or the Redis-shared one behind the fallback that decides what happens while Redis is away.
//
//   absl::StatusOr<ota::LimiterSetup> setup =
//       ota::MakeRateLimiter(limiter_config, config.rate_limit, config.policy.max_limiter_wait,
//       clock);
//   if (setup->watch_health) setup->watch_health([](bool degraded, const std::string& why) {});
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/app/limiter_config.h"
#include "server/base/clock.h"
#include "server/limiter/fallback_rate_limiter.h"
#include "server/limiter/rate_limit_options.h"
#include "server/limiter/rate_limiter.h"
#include "server/limiter/remembered_cancellations.h"

namespace ota {

// The gRPC health service name that reports the limiter: NOT_SERVING while Redis is unreachable.
inline constexpr char kLimiterHealthService[] = "ota.v1.OtaStrategyService.limiter";

struct LimiterSetup {
  std::unique_ptr<RateLimiter> limiter;
  // Subscribes to degraded/healthy changes; empty for the in-process limiter, which cannot degrade.
  std::function<void(FallbackRateLimiter::HealthListener)> watch_health;
};

// `fleet` is the account's budget (--qps, --burst, --rate-margin); `max_wait` is how far ahead a
// slot may be reserved. `action` names the Alibaba API whose quota it is (the Redis key's last
// part), so QueryOTAJob's budget lives apart from CancelOTAStrategyByJob's.
[[nodiscard]] LimiterSetup MakeRateLimiter(const LimiterConfig& config,
                                           const RateLimitOptions& fleet, absl::Duration max_wait,
                                           const Clock& clock,
                                           const std::string& action = "CancelOTAStrategyByJob");

// The remembered cancellations: in process, or shared through the limiter's Redis (keys under
// the limiter's prefix + "cancelled:") with a local fallback. Null when `ttl` is zero.
[[nodiscard]] std::unique_ptr<RememberedCancellations> MakeRememberedCancellations(
    const LimiterConfig& config, absl::Duration ttl, const Clock& clock);

}  // namespace ota
