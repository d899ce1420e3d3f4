// ota-bench: performance reports for ota-gateway's components. Each report is a subcommand that
// prints a table and writes the same figures as JSON.
//
//   ota-bench limiter [--redis-url=redis://127.0.0.1:6379/0] [--duration=3s]
//                     [--concurrency=1,16,256] [--json=limiter_bench.json]
//   ota-bench burst --target=HOST:PORT --jobs=J1,J2,... [--timeout=60s] [--token_file=F]
//   ota-bench all [--smoke] [--gateway=build/server/ota-gateway] [--ghz=.tools/bin/ghz]
//                 [--report=bench_report.json] [--scenarios=1,3]
//   ota-bench ceiling-server --listen=127.0.0.1:50052   (the no-op server `all` measures against)
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/call_burst.h"
#include "bench/ceiling_server.h"
#include "bench/gateway_suite.h"
#include "bench/limiter_report.h"
#include "server/base/clock.h"
#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/redis/redis_rate_limiter.h"
#include "server/testing/redis_test_server.h"

ABSL_FLAG(std::string, redis_url, "",
          "limiter: Redis to measure against; empty: start a throwaway redis-server on loopback.");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(3), "limiter: measuring time per row.");
ABSL_FLAG(std::string, concurrency, "1,16,256", "limiter: numbers of concurrent callers.");
ABSL_FLAG(std::string, json, "limiter_bench.json", "limiter: where to write the JSON figures.");
ABSL_FLAG(std::string, target, "127.0.0.1:50051", "burst: the gateway to call.");
ABSL_FLAG(std::vector<std::string>, jobs, {}, "burst: job ids, one concurrent call each.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(60), "burst: deadline of each call.");
ABSL_FLAG(std::string, token_file, "",
          "burst: file holding the bearer token every call presents (the token never goes on the "
          "command line); empty: none.");
ABSL_FLAG(bool, smoke, false, "all: a few seconds in all, to prove the tool works (CI).");
ABSL_FLAG(std::string, gateway, OTA_BINARY_DIR "/server/ota-gateway", "all: ota-gateway binary.");
ABSL_FLAG(std::string, baseline_gateway, "",
          "all: another ota-gateway binary (e.g. the previous release) measured beside --gateway "
          "in scenario 1, interleaved; its CPU per call is the baseline. Empty: none.");
ABSL_FLAG(std::string, nginx, "/usr/sbin/nginx", "all: nginx binary (the loopback upstream).");
ABSL_FLAG(std::string, ghz, OTA_SOURCE_DIR "/.tools/bin/ghz",
          "all: ghz binary for the cross-check; missing: the cross-check is skipped.");
ABSL_FLAG(std::string, proto_dir, OTA_SOURCE_DIR "/proto", "all: root of the .proto files (ghz).");
ABSL_FLAG(std::string, work_dir, "", "all: logs, certificates, configs; empty: a fresh /tmp dir.");
ABSL_FLAG(std::string, scenarios, "",
          "all: only these scenarios (numbers 1-6, e.g. 1,3); empty: every one.");
ABSL_FLAG(
    std::string, suite_concurrency, "",
    "all: concurrency levels of scenario 1 (e.g. 64); empty: 1,16,64,256 (1,16 with --smoke).");
ABSL_FLAG(std::vector<std::string>, gateway_flags, {},
          "all: flags added to every ota-gateway it starts, comma-separated (e.g. "
          "--log-level=warning), to measure what a setting costs.");
ABSL_FLAG(std::string, report, "bench_report.json", "all: where to write the JSON report.");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "ceiling-server: gRPC listen address.");
ABSL_FLAG(bool, park, false,
          "ceiling-server: hold every call until the caller cancels it, instead of answering "
          "(the memory floor of waiting callers).");

namespace ota {
namespace {

using ::ota::testing::RedisTestServer;

// Positive numbers from a comma-separated flag value; nullopt (and a message) when one is not.
std::optional<std::vector<int>> PositiveNumbers(const char* flag, const std::string& text) {
  std::vector<int> numbers;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int number = 0;
    if (!absl::SimpleAtoi(part, &number) || number < 1) {
      std::fprintf(stderr, "ota-bench: --%s must list positive numbers, e.g. 1,16,256\n", flag);
      return std::nullopt;
    }
    numbers.push_back(number);
  }
  return numbers;
}

int RunLimiterReport() {
  const std::optional<std::vector<int>> numbers =
      PositiveNumbers("concurrency", absl::GetFlag(FLAGS_concurrency));
  if (!numbers.has_value()) return 2;
  const std::vector<int>& levels = *numbers;
  std::unique_ptr<RedisTestServer> own_redis;
  RedisEndpoint endpoint;
  if (const std::string url = absl::GetFlag(FLAGS_redis_url); url.empty()) {
    absl::StatusOr<std::unique_ptr<RedisTestServer>> started = RedisTestServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "ota-bench: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    own_redis = *std::move(started);
    endpoint = own_redis->endpoint();
  } else {
    absl::StatusOr<RedisEndpoint> parsed = ParseRedisUrl(url);
    if (!parsed.ok()) {
      std::fprintf(stderr, "ota-bench: %s\n", std::string(parsed.status().message()).c_str());
      return 2;
    }
    endpoint = *std::move(parsed);
  }

  RateLimitOptions rate;  // the gateway's defaults: 10 per 1s, burst 5, 250ms margin
  rate.margin = kDefaultGatewayRateMargin;
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  std::vector<LimiterBenchResult> results;
  for (int level : levels) {
    LocalRateLimiter local(rate, SystemClock::Get());
    results.push_back(BenchLimiter(local, "in-process", "bench", level, duration));
    RedisRateLimiter redis({.endpoint = endpoint, .rate = rate, .key_prefix = "ota-bench:"},
                           SystemClock::Get());
    // A fresh budget per row, so one row's far-future slots do not carry into the next.
    results.push_back(BenchLimiter(
        redis, "redis", absl::StrCat("bench-", level, "-", absl::ToUnixNanos(absl::Now())), level,
        duration));
  }
  std::printf("limiter: %s, %s per row, Redis %s\n", "reservation decisions",
              absl::FormatDuration(duration).c_str(), endpoint.Describe().c_str());
  std::printf("%s", FormatLimiterTable(results).c_str());
  const std::string path = absl::GetFlag(FLAGS_json);
  std::ofstream out(path);
  out << LimiterResultsJson(results) << "\n";
  if (!out) {
    std::fprintf(stderr, "ota-bench: cannot write %s\n", path.c_str());
    return 1;
  }
  std::printf("JSON written to %s\n", path.c_str());
  return 0;
}

int RunBurst() {
  const std::vector<std::string> jobs = absl::GetFlag(FLAGS_jobs);
  if (jobs.empty()) {
    std::fprintf(stderr, "ota-bench: burst needs --jobs=J1,J2,...\n");
    return 2;
  }
  std::string token;
  if (const std::string path = absl::GetFlag(FLAGS_token_file); !path.empty()) {
    std::ifstream in(path);
    if (!std::getline(in, token) || token.empty()) {
      std::fprintf(stderr, "ota-bench: --token_file %s holds no token\n", path.c_str());
      return 2;
    }
  }
  const std::vector<BurstCallResult> results =
      FireBurst(absl::GetFlag(FLAGS_target), jobs, absl::GetFlag(FLAGS_timeout), token);
  std::printf("%s", BurstResultsJson(results).c_str());
  return 0;
}

int RunAll() {
  SuiteOptions options = absl::GetFlag(FLAGS_smoke) ? SuiteOptions::Smoke() : SuiteOptions::Full();
  char self[PATH_MAX] = {};
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) {
    std::fprintf(stderr, "ota-bench: cannot find its own binary\n");
    return 1;
  }
  options.self = std::string(self, static_cast<std::size_t>(length));
  options.gateway = absl::GetFlag(FLAGS_gateway);
  options.baseline_gateway = absl::GetFlag(FLAGS_baseline_gateway);
  options.nginx = absl::GetFlag(FLAGS_nginx);
  options.ghz = absl::GetFlag(FLAGS_ghz);
  options.proto_dir = absl::GetFlag(FLAGS_proto_dir);
  options.json_path = absl::GetFlag(FLAGS_report);
  options.gateway_flags = absl::GetFlag(FLAGS_gateway_flags);
  if (const std::string picked = absl::GetFlag(FLAGS_scenarios); !picked.empty()) {
    const std::optional<std::vector<int>> numbers = PositiveNumbers("scenarios", picked);
    if (!numbers.has_value()) return 2;
    for (int number : *numbers) {
      if (number > 7) {
        std::fprintf(stderr, "ota-bench: --scenarios takes numbers from 1 to 7, e.g. 1,3\n");
        return 2;
      }
    }
    options.scenarios = *numbers;
  }
  if (const std::string levels = absl::GetFlag(FLAGS_suite_concurrency); !levels.empty()) {
    const std::optional<std::vector<int>> numbers = PositiveNumbers("suite_concurrency", levels);
    if (!numbers.has_value()) return 2;
    options.concurrency = *numbers;
  }
  options.work_dir = absl::GetFlag(FLAGS_work_dir);
  if (options.work_dir.empty()) {
    std::string pattern = "/tmp/ota-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::fprintf(stderr, "ota-bench: cannot create a work directory in /tmp\n");
      return 1;
    }
    options.work_dir = pattern;
  }
  std::printf("logs and configs in %s\n", options.work_dir.c_str());
  return RunGatewaySuite(options);
}

}  // namespace
}  // namespace ota

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ota-bench REPORT [flags]: performance reports for ota-gateway.\nReports:\n"
      "  limiter  reservations/s and p50/p99 added latency of the Redis and in-process limiters "
      "at several concurrency levels\n"
      "  burst    fires one concurrent CancelByJob call per --jobs entry at --target; JSON lines\n"
      "  all      every scenario of the gateway performance report (ceiling vs gateway, added "
      "latency, waiting callers, HTTPS reuse, signer, start-up, fair share); --smoke for a quick "
      "CI "
      "run\n"
      "  ceiling-server  the no-op gRPC server that `all` uses as the throughput ceiling");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() == 2 && std::string(positional[1]) == "limiter") {
    return ota::RunLimiterReport();
  }
  if (positional.size() == 2 && std::string(positional[1]) == "burst") return ota::RunBurst();
  if (positional.size() == 2 && std::string(positional[1]) == "all") return ota::RunAll();
  if (positional.size() == 2 && std::string(positional[1]) == "ceiling-server") {
    return ota::RunCeilingServer(absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_park));
  }
  std::fprintf(stderr, "usage: ota-bench limiter|burst|all|ceiling-server [flags]  (see --help)\n");
  return 2;
}
