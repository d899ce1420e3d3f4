// LatencySummary: percentiles of one run's per-call latencies, and the median of a figure over
// repeated runs (the report quotes medians so one noisy run cannot decide a result).
//
//   ota::LatencySummary s = ota::Summarize(std::move(latencies_ns));
//   double p99_us = s.p99_us;
//   double typical = ota::Median({run1.calls_per_second, run2.calls_per_second, run3...});
#pragma once

#include <cstdint>
#include <vector>

namespace ota {

struct LatencySummary {
  std::int64_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
};

[[nodiscard]] LatencySummary Summarize(std::vector<std::int64_t> latencies_ns);

// Median of `values` (the mean of the middle two for an even count); 0 for none.
[[nodiscard]] double Median(std::vector<double> values);

}  // namespace ota
