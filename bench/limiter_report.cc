#include "bench/limiter_report.h"

#include <algorithm>
#include <cstddef>
#include <deque>

#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace ota {
namespace {

absl::Duration Percentile(std::vector<absl::Duration>& sorted, double p) {
  if (sorted.empty()) return absl::ZeroDuration();
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

double Micros(absl::Duration d) { return absl::ToDoubleMicroseconds(d); }

}  // namespace

LimiterBenchResult BenchLimiter(RateLimiter& limiter, const std::string& backend,
                                const std::string& key, int concurrency, absl::Duration duration) {
  absl::Mutex mu;
  absl::CondVar answered;
  std::deque<int> ready;  // callers whose answer came back
  std::vector<absl::Duration> latencies;
  long long errors = 0;
  std::vector<absl::Time> asked(static_cast<std::size_t>(concurrency));

  // The driver thread issues every Reserve and never holds `mu` while doing so: the in-process
  // limiter answers inline, a shared one from its I/O thread.
  auto issue = [&](int caller) {
    asked[static_cast<std::size_t>(caller)] = absl::Now();
    limiter.Reserve(key, absl::InfiniteFuture(), [&, caller](absl::StatusOr<Reservation> r) {
      const absl::Duration latency = absl::Now() - asked[static_cast<std::size_t>(caller)];
      absl::MutexLock lock(&mu);
      if (r.ok() && r->granted) {
        latencies.push_back(latency);
      } else {
        ++errors;
      }
      ready.push_back(caller);
      answered.Signal();
    });
  };

  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  for (int caller = 0; caller < concurrency; ++caller) issue(caller);
  int outstanding = concurrency;
  while (outstanding > 0) {
    std::deque<int> batch;
    {
      absl::MutexLock lock(&mu);
      while (ready.empty()) answered.Wait(&mu);
      batch.swap(ready);
    }
    const bool more = absl::Now() < end;
    for (int caller : batch) {
      if (more) {
        issue(caller);
      } else {
        --outstanding;
      }
    }
  }
  const absl::Duration elapsed = absl::Now() - start;

  absl::MutexLock lock(&mu);
  std::sort(latencies.begin(), latencies.end());
  LimiterBenchResult result;
  result.backend = backend;
  result.concurrency = concurrency;
  result.reservations = static_cast<long long>(latencies.size());
  result.errors = errors;
  result.reservations_per_second =
      static_cast<double>(latencies.size()) / absl::ToDoubleSeconds(elapsed);
  result.p50 = Percentile(latencies, 0.50);
  result.p99 = Percentile(latencies, 0.99);
  return result;
}

std::string FormatLimiterTable(const std::vector<LimiterBenchResult>& results) {
  std::string out = absl::StrFormat("%-12s %11s %14s %12s %12s %8s\n", "backend", "concurrency",
                                    "reservations/s", "p50 (us)", "p99 (us)", "errors");
  for (const LimiterBenchResult& r : results) {
    out += absl::StrFormat("%-12s %11d %14.0f %12.1f %12.1f %8d\n", r.backend, r.concurrency,
                           r.reservations_per_second, Micros(r.p50), Micros(r.p99), r.errors);
  }
  return out;
}

std::string LimiterResultsJson(const std::vector<LimiterBenchResult>& results) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const LimiterBenchResult& r : results) {
    rows.push_back({{"backend", r.backend},
                    {"concurrency", r.concurrency},
                    {"reservations", r.reservations},
                    {"errors", r.errors},
                    {"reservations_per_second", r.reservations_per_second},
                    {"p50_latency_us", Micros(r.p50)},
                    {"p99_latency_us", Micros(r.p99)}});
  }
  return nlohmann::ordered_json{{"report", "limiter"}, {"results", rows}}.dump(2);
}

}  // namespace ota
