#include "server/app/limiter_config.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "cli_flags/environment_flags.h"
#include "cli_flags/url_with_credentials_flag.h"

ABSL_FLAG(std::string, limiter, "local",
          "Where the quota budget lives: 'local' (in this process; one replica) or 'redis' (shared "
          "by every replica through --redis-url).");
// UrlWithCredentials: a URL flag whose password is masked wherever Abseil prints its value.
ABSL_FLAG(ota::UrlWithCredentials, redis_url, {"redis://127.0.0.1:6379/0"},
          "Redis for --limiter=redis: redis://[[USER]:PASSWORD@]HOST:PORT/DB, or rediss://... for "
          "TLS. Prefer the OTA_REDIS_PASSWORD environment variable for the password; it is never "
          "logged.");
ABSL_FLAG(std::string, redis_ca_file, "",
          "rediss:// only: PEM CA bundle that must have signed Redis's certificate; empty: the "
          "system CA store.");
ABSL_FLAG(std::string, redis_cert_file, "",
          "rediss:// only: PEM client certificate (chain) for Redis servers that require mutual "
          "TLS; needs --redis-key-file.");
ABSL_FLAG(std::string, redis_key_file, "", "rediss:// only: PEM private key of --redis-cert-file.");
ABSL_FLAG(
    std::string, redis_tls_server_name, "",
    "rediss:// only: the DNS name or IP Redis's certificate must carry (also sent as SNI) "
    "when it differs from the URL's host, e.g. when connecting by IP; empty: the URL's host.");
ABSL_FLAG(absl::Duration, redis_timeout, absl::Milliseconds(250),
          "Bound on connecting to Redis and on each round trip.");
ABSL_FLAG(std::string, redis_failure_mode, "fail-closed",
          "When Redis is unreachable: 'fail-closed' (calls fail with UNAVAILABLE) or 'fail-local' "
          "(each replica uses an in-process budget of qps / --expected-replicas).");
ABSL_FLAG(int, expected_replicas, 0,
          "How many replicas share the budget; required with --redis-failure-mode=fail-local.");
ABSL_FLAG(std::string, limiter_key_prefix, "ota-gateway:ratelimit:",
          "Prefix of the Redis keys; key = prefix + account key + ':' + API action.");

namespace ota {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

// A missing or unreadable file is a start-up error naming the flag, not an endless reconnect loop.
absl::Status CheckReadable(absl::string_view flag, const std::string& path) {
  if (path.empty() || std::ifstream(path).good()) return absl::OkStatus();
  return FlagError(flag, absl::StrCat("cannot read '", path, "'"));
}

// The TLS flags fill in what a rediss:// URL cannot say; with redis:// they would silently do
// nothing, so they are refused there.
absl::Status ApplyTlsFlags(RedisEndpoint& endpoint) {
  RedisTlsOptions& tls = endpoint.tls_options;
  tls.ca_file = absl::GetFlag(FLAGS_redis_ca_file);
  tls.cert_file = absl::GetFlag(FLAGS_redis_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_redis_key_file);
  tls.server_name = absl::GetFlag(FLAGS_redis_tls_server_name);
  const bool any = !tls.ca_file.empty() || !tls.cert_file.empty() || !tls.key_file.empty() ||
                   !tls.server_name.empty();
  if (any && !endpoint.tls) {
    return FlagError("redis-url",
                     "--redis-ca-file, --redis-cert-file, --redis-key-file and "
                     "--redis-tls-server-name need a rediss:// (TLS) URL");
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return FlagError(tls.cert_file.empty() ? "redis-cert-file" : "redis-key-file",
                     "mutual TLS needs both --redis-cert-file and --redis-key-file");
  }
  if (absl::Status readable = CheckReadable("redis-ca-file", tls.ca_file); !readable.ok()) {
    return readable;
  }
  if (absl::Status readable = CheckReadable("redis-cert-file", tls.cert_file); !readable.ok()) {
    return readable;
  }
  return CheckReadable("redis-key-file", tls.key_file);
}

}  // namespace

void ApplyLimiterEnvironmentFallbacks() {
  ApplyEnvironmentFallbacks("ota-gateway", "OTA_",
                            {"limiter", "redis_url", "redis_ca_file", "redis_cert_file",
                             "redis_key_file", "redis_tls_server_name", "redis_timeout",
                             "redis_failure_mode", "expected_replicas", "limiter_key_prefix"});
}

absl::StatusOr<LimiterConfig> LoadLimiterConfig() {
  const std::string kind = absl::GetFlag(FLAGS_limiter);
  LimiterConfig config;
  if (kind == "local") return config;
  if (kind != "redis") return FlagError("limiter", "must be local or redis");
  config.shared = true;

  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(absl::GetFlag(FLAGS_redis_url).url);
  if (!endpoint.ok()) return endpoint.status();
  if (absl::Status tls = ApplyTlsFlags(*endpoint); !tls.ok()) return tls;
  if (endpoint->password.empty()) {
    // Start-up only, before any thread exists.
    if (const char* password = std::getenv("OTA_REDIS_PASSWORD");  // NOLINT(concurrency-mt-unsafe)
        password != nullptr) {
      endpoint->password = password;
    }
  }
  config.redis = *std::move(endpoint);
  config.redis_timeout = absl::GetFlag(FLAGS_redis_timeout);
  if (config.redis_timeout <= absl::ZeroDuration()) {
    return FlagError("redis-timeout", "must be a positive duration, e.g. 250ms");
  }
  absl::StatusOr<RedisFailureMode> mode =
      ParseRedisFailureMode(absl::GetFlag(FLAGS_redis_failure_mode));
  if (!mode.ok()) return FlagError("redis-failure-mode", mode.status().message());
  config.failure_mode = *mode;
  const int replicas = absl::GetFlag(FLAGS_expected_replicas);
  if (replicas < 0 || (*mode == RedisFailureMode::kFailLocal && replicas < 1)) {
    return FlagError("expected-replicas",
                     "set how many replicas share the budget (>= 1); fail-local gives each "
                     "qps / replicas");
  }
  config.expected_replicas = std::max(replicas, 1);
  config.key_prefix = absl::GetFlag(FLAGS_limiter_key_prefix);
  return config;
}

}  // namespace ota
