#include "bench/fair_share_bench.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/call_burst.h"
#include "bench/health_probe.h"
#include "client/ota_client.h"
#include "nlohmann/json.hpp"
#include "server/base/sha256.h"
#include "server/testing/child_process.h"

namespace ota {
namespace {

using ::ota::testing::ChildProcess;
using ::ota::testing::FreeLoopbackPort;

struct BenchCaller {
  const char* name;
  int share;
};
// "warm" holds the quota for about a second before the 3:1 floods, so both are queued before the
// slots they compete for, whichever client thread happens to start first.
constexpr BenchCaller kCallers[] = {{"bulk", 1}, {"oncall", 1}, {"a", 3}, {"b", 1}, {"warm", 100}};

std::string TokenOf(const std::string& caller) {
  return absl::StrCat("ota-bench-fair-share-token-", caller);
}

std::vector<std::string> Jobs(const std::string& prefix, int count) {
  std::vector<std::string> jobs;
  jobs.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) jobs.push_back(absl::StrCat(prefix, "-", i));
  return jobs;
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto index =
      static_cast<std::size_t>(std::lround(q * static_cast<double>(values.size() - 1)));
  return values[std::min(index, values.size() - 1)];
}

int CountOk(const std::vector<BurstCallResult>& results) {
  return static_cast<int>(
      std::count_if(results.begin(), results.end(), [](const BurstCallResult& r) { return r.ok; }));
}

}  // namespace

absl::StatusOr<FairShareResult> MeasureFairShare(const FairShareOptions& options) {
  nlohmann::json callers = nlohmann::json::array();
  for (const BenchCaller& caller : kCallers) {
    callers.push_back({{"name", caller.name},
                       {"share", caller.share},
                       {"identities", {{{"token_sha256", Sha256Hex(TokenOf(caller.name))}}}}});
  }
  const std::string callers_path =
      absl::StrCat(options.work_dir, "/callers-", options.label, ".json");
  const std::string audit_path = absl::StrCat(options.work_dir, "/audit-", options.label, ".jsonl");
  std::ofstream(callers_path) << nlohmann::json{{"callers", callers}}.dump() << "\n";
  std::ofstream(audit_path, std::ios::trunc).flush();

  const std::string target = absl::StrCat("127.0.0.1:", FreeLoopbackPort());
  std::vector<std::string> argv = options.gateway_argv;
  argv.push_back(absl::StrCat("--listen=", target));
  argv.push_back(absl::StrCat("--callers-file=", callers_path));
  argv.push_back(absl::StrCat("--audit-log=", audit_path));
  const std::string log_path =
      absl::StrCat(options.work_dir, "/gateway-s7-", options.label, ".log");
  absl::StatusOr<ChildProcess> gateway = ChildProcess::Start(argv, log_path);
  if (!gateway.ok()) return gateway.status();
  if (!WaitUntilServing(target, absl::Seconds(10))) {
    return absl::UnavailableError(absl::StrCat("the gateway did not serve; see ", log_path));
  }

  FairShareResult result;
  // Part 1: a flood from "bulk"; a second later "oncall" calls one at a time, each with 3 s.
  {
    std::future<std::vector<BurstCallResult>> flood = std::async(std::launch::async, [&] {
      return FireBurst(target, Jobs("BULK", options.flood_calls), absl::Seconds(60),
                       TokenOf("bulk"));
    });
    absl::SleepFor(absl::Seconds(1));
    absl::StatusOr<client::OtaClient> oncall =
        client::OtaClient::Connect(target, {.use_tls = false,
                                            .ca_file = {},
                                            .cert_file = {},
                                            .key_file = {},
                                            .bearer_token = TokenOf("oncall")});
    if (!oncall.ok()) return oncall.status();
    absl::Time next = absl::Now();
    for (int i = 0; i < options.oncall_calls; ++i) {
      absl::SleepFor(next - absl::Now());
      next += options.oncall_spacing;
      const absl::Time asked = absl::Now();
      const client::CancelResult answer =
          oncall->CancelByJob(absl::StrCat("ONCALL-", i), "", absl::Seconds(3));
      result.oncall_latency_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - asked));
      if (answer.ok()) ++result.oncall_ok;
    }
    result.flood_ok = CountOk(flood.get());
  }
  result.oncall_p50_ms = Percentile(result.oncall_latency_ms, 0.5);
  result.oncall_p99_ms = Percentile(result.oncall_latency_ms, 0.99);
  result.oncall_max_ms = Percentile(result.oncall_latency_ms, 1.0);

  // Part 2: "a" (share 3) and "b" (share 1) flood at once, behind the warm-up.
  {
    const int each = options.split_first * 3 / 2;
    std::future<std::vector<BurstCallResult>> warm = std::async(std::launch::async, [&] {
      return FireBurst(target, Jobs("WARM", 10), absl::Seconds(30), TokenOf("warm"));
    });
    absl::SleepFor(absl::Milliseconds(150));
    std::future<std::vector<BurstCallResult>> a = std::async(std::launch::async, [&] {
      return FireBurst(target, Jobs("A", each), absl::Seconds(60), TokenOf("a"));
    });
    std::future<std::vector<BurstCallResult>> b = std::async(std::launch::async, [&] {
      return FireBurst(target, Jobs("B", each), absl::Seconds(60), TokenOf("b"));
    });
    (void)warm.get();
    (void)a.get();
    (void)b.get();
  }
  gateway->Stop();

  std::ifstream audit(audit_path);
  std::string line;
  int counted = 0;
  while (counted < options.split_first && std::getline(audit, line)) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || record.value("code", "") != "OK") continue;
    const std::string caller = record.value("caller", "");
    if (caller == "a") {
      ++result.split_a;
    } else if (caller == "b") {
      ++result.split_b;
    } else {
      continue;
    }
    ++counted;
  }
  return result;
}

}  // namespace ota
