// Limiter report of ota-bench: how many reservations per second each limiter backend answers, and
// how much latency it adds to a call, at several numbers of concurrent callers.
//
// A caller reserves, waits for the answer, and reserves again at once; the latency is from Reserve
// to its callback (the time a call waits before it even knows its slot). Slots are taken with no
// deadline, so the budget only schedules them further ahead and never refuses: what is measured is
// the cost of deciding, not the quota.
//
//   ota::LimiterBenchResult r = ota::BenchLimiter(limiter, "redis", 16, absl::Seconds(3));
//   std::cout << ota::FormatLimiterTable({r});
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/limiter/rate_limiter.h"

namespace ota {

struct LimiterBenchResult {
  std::string backend;
  int concurrency = 0;
  long long reservations = 0;
  long long errors = 0;
  double reservations_per_second = 0;
  absl::Duration p50;
  absl::Duration p99;
};

// Runs `concurrency` callers against `limiter` for `duration` on budget `key`.
[[nodiscard]] LimiterBenchResult BenchLimiter(RateLimiter& limiter, const std::string& backend,
                                              const std::string& key, int concurrency,
                                              absl::Duration duration);

[[nodiscard]] std::string FormatLimiterTable(const std::vector<LimiterBenchResult>& results);
[[nodiscard]] std::string LimiterResultsJson(const std::vector<LimiterBenchResult>& results);

}  // namespace ota
