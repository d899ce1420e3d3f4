// LimiterConfig: where the account's rate budget lives, read from the limiter flags.
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
//   absl::StatusOr<ota::LimiterConfig> limiter = ota::LoadLimiterConfig();
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/limiter/fallback_rate_limiter.h"
#include "server/limiter/redis/redis_connection.h"

namespace ota {

struct LimiterConfig {
  bool shared = false;  // --limiter=redis
  // The rest applies to the shared (Redis) budget only.
  RedisEndpoint redis;  // password from the URL or OTA_REDIS_PASSWORD; TLS files checked readable
  absl::Duration redis_timeout = absl::Milliseconds(250);
  RedisFailureMode failure_mode = RedisFailureMode::kFailClosed;
  int expected_replicas = 1;
  std::string key_prefix;
};

// For each limiter flag --x-y whose variable OTA_X_Y is set, makes that value the flag's default
// (the command line still wins). Exits with a message naming the variable if a value does not
// parse.
void ApplyLimiterEnvironmentFallbacks();

// Reads and checks the limiter flags. INVALID_ARGUMENT names the bad flag.
[[nodiscard]] absl::StatusOr<LimiterConfig> LoadLimiterConfig();

}  // namespace ota
