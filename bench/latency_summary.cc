#include "bench/latency_summary.h"

#include <algorithm>
#include <cstddef>

namespace ota {
namespace {

// Nearest-rank percentile of sorted values.
double PercentileUs(const std::vector<std::int64_t>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  const auto rank = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size()));
  return static_cast<double>(sorted[std::min(rank, sorted.size() - 1)]) / 1000.0;
}

}  // namespace

LatencySummary Summarize(std::vector<std::int64_t> latencies_ns) {
  std::sort(latencies_ns.begin(), latencies_ns.end());
  return {.count = static_cast<std::int64_t>(latencies_ns.size()),
          .p50_us = PercentileUs(latencies_ns, 0.50),
          .p99_us = PercentileUs(latencies_ns, 0.99),
          .p999_us = PercentileUs(latencies_ns, 0.999)};
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

}  // namespace ota
