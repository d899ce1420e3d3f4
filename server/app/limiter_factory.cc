#include "server/app/limiter_factory.h"

#include <utility>

#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/redis/redis_rate_limiter.h"
#include "server/limiter/redis/redis_remembered_cancellations.h"

namespace ota {

LimiterSetup MakeRateLimiter(const LimiterConfig& config, const RateLimitOptions& fleet,
                             absl::Duration max_wait, const Clock& clock,
                             const std::string& action) {
  LimiterSetup setup;
  if (!config.shared) {
    setup.limiter = std::make_unique<LocalRateLimiter>(fleet, clock);
    return setup;
  }
  auto shared =
      std::make_unique<RedisRateLimiter>(RedisRateLimiterOptions{.endpoint = config.redis,
                                                                 .rate = fleet,
                                                                 .key_prefix = config.key_prefix,
                                                                 .action = action,
                                                                 .timeout = config.redis_timeout},
                                         clock);
  auto fallback = std::make_unique<FallbackRateLimiter>(
      std::move(shared),
      FallbackOptions{.mode = config.failure_mode,
                      .fleet = fleet,
                      .expected_replicas = config.expected_replicas,
                      .unknown_pending_horizon = max_wait},
      clock);
  FallbackRateLimiter* health = fallback.get();
  setup.watch_health = [health](FallbackRateLimiter::HealthListener listener) {
    health->WatchHealth(std::move(listener));
  };
  setup.limiter = std::move(fallback);
  return setup;
}

std::unique_ptr<RememberedCancellations> MakeRememberedCancellations(const LimiterConfig& config,
                                                                     absl::Duration ttl,
                                                                     const Clock& clock) {
  if (ttl <= absl::ZeroDuration()) return nullptr;
  const RememberOptions remember{.ttl = ttl, .capacity = 100000};
  if (!config.shared) return std::make_unique<LocalRememberedCancellations>(remember, clock);
  return std::make_unique<RedisRememberedCancellations>(
      RedisRememberedCancellationsOptions{.endpoint = config.redis,
                                          .key_prefix = config.key_prefix + "cancelled:",
                                          .remember = remember,
                                          .timeout = config.redis_timeout},
      clock);
}

}  // namespace ota
