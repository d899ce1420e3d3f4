// Limiter factory: builds the gateway's RateLimiter from the limiter flags.
//
//   --limiter=local|redis            in-process budget (default) or one shared through Redis
//   --redis-url=redis[s]://[[USER]:PASSWORD@]HOST:PORT/DB
//                                    the password may instead come from OTA_REDIS_PASSWORD (better:
//                                    it then stays out of `ps`); it is never logged. rediss:// is
//                                    TLS, Redis's certificate verified (CA and host name)
//   --redis-ca-file=PEM              rediss://: CA to verify Redis against (default: system store)
//   --redis-cert-file=PEM --redis-key-file=PEM
//                                    rediss://: client certificate for mutual TLS
//   --redis-tls-server-name=NAME     rediss://: name/IP the certificate must carry, if not the host
//   --redis-timeout=250ms            connect and round-trip bound
//   --redis-failure-mode=fail-closed|fail-local
//   --expected-replicas=N            replicas sharing the budget (fail-local uses qps / N)
//   --limiter-key-prefix=PREFIX      Redis key prefix; key = PREFIX + account key + ":" + action
//
//   ota::ApplyLimiterEnvironmentFallbacks();  // before absl::ParseCommandLine
//   absl::StatusOr<ota::LimiterSetup> setup =
//       ota::MakeConfiguredRateLimiter(config.rate_limit, config.policy.max_limiter_wait, clock);
//   if (setup->watch_health) setup->watch_health([](bool degraded, const std::string& why) {});
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/limiter/fallback_rate_limiter.h"
#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/rate_limiter.h"

namespace ota {

// The gRPC health service name that reports the limiter: NOT_SERVING while Redis is unreachable.
inline constexpr char kLimiterHealthService[] = "ota.v1.OtaStrategyService.limiter";

struct LimiterSetup {
  std::unique_ptr<RateLimiter> limiter;
  // Subscribes to degraded/healthy changes; empty for the in-process limiter, which cannot degrade.
  std::function<void(FallbackRateLimiter::HealthListener)> watch_health;
};

// For each limiter flag --x-y whose variable OTA_X_Y is set, makes that value the flag's default
// (the command line still wins). Exits with a message naming the variable if a value does not
// parse.
void ApplyLimiterEnvironmentFallbacks();

// Reads the limiter flags. `fleet` is the account's budget (--qps, --burst, --rate-margin);
// `max_wait` is how far ahead a slot may be reserved. INVALID_ARGUMENT names the bad flag.
[[nodiscard]] absl::StatusOr<LimiterSetup> MakeConfiguredRateLimiter(const RateLimitOptions& fleet,
                                                                     absl::Duration max_wait,
                                                                     const Clock& clock);

}  // namespace ota
