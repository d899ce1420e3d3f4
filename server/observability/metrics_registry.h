// MetricsRegistry: counters, gauges and fixed-bucket histograms that the call path updates with a
// few relaxed atomic operations, and that a scrape turns into Prometheus text.
//
// Every series (a metric name plus a fixed set of label values) is registered up front, at
// start-up, and handed back as a stable reference; the hot path never looks a series up by name,
// never allocates and never takes a lock. Registering every label value in advance is also how
// label sets stay bounded: there is no way to create a series from a value seen at run time (a
// job id, a caller's string). Series registered under the same name form one family (same type and
// help), so the exposition writes each family once. Gauges whose value is cheaper to read than to
// track (the serving state, a credential's expiry) are callbacks run at scrape time.
//
// Misuse is a programming error and aborts with a message at registration: an invalid metric or
// label name, a name reused with another type or help, the same series twice, histogram bounds
// that do not ascend.
//
//   ota::MetricsRegistry registry;
//   ota::Counter& ok = registry.AddCounter("calls_total", "Calls answered.", {{"code", "OK"}});
//   ota::Histogram& latency = registry.AddHistogram("call_seconds", "Latency.", {0.1, 1, 10});
//   ok.Increment();
//   latency.Observe(0.042);
//   std::string body = registry.RenderText();  // for GET /metrics
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "server/observability/prometheus_text.h"

namespace ota {

// Only ever goes up.
class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// Goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations into buckets fixed at construction. Observe costs a search over the bounds
// (a dozen comparisons) and two atomic adds. A scrape racing an Observe may see the observation in
// its bucket but not yet in the sum; the count is derived from the buckets, so _count always
// equals the +Inf bucket.
class Histogram {
 public:
  // `upper_bounds`: finite, strictly ascending (checked by MetricsRegistry::AddHistogram).
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);
  [[nodiscard]] HistogramSnapshot Snapshot() const;

 private:
  const std::vector<double> upper_bounds_;
  // One per bound plus the +Inf bucket; an array because std::atomic cannot live in a vector.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Each call adds one series and returns it; the reference stays valid as long as the registry.
  Counter& AddCounter(std::string_view name, std::string_view help, MetricLabels labels = {});
  Gauge& AddGauge(std::string_view name, std::string_view help, MetricLabels labels = {});
  Histogram& AddHistogram(std::string_view name, std::string_view help,
                          std::vector<double> upper_bounds, MetricLabels labels = {});
  // A gauge read by calling `read` at each scrape (on the scraping thread). `read` must not call
  // back into the registry.
  void AddGaugeCallback(std::string_view name, std::string_view help, MetricLabels labels,
                        std::function<double()> read);

  // Every family, in registration order, with its series in registration order.
  [[nodiscard]] std::vector<FamilySnapshot> Snapshot() const;
  // Snapshot() as Prometheus text (format 0.0.4).
  [[nodiscard]] std::string RenderText() const;

 private:
  struct Series {
    MetricLabels labels;
    // Exactly one of these is set, per the family's type (a gauge may be a callback).
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
    std::function<double()> read;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<Series> series;
  };

  // The family `name` (created if new) after checking the name, type, help and labels; aborts on
  // misuse.
  Family& FamilyFor(std::string_view name, std::string_view help, MetricType type,
                    const MetricLabels& labels) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable std::mutex mu_;
  // unique_ptr: families must not move while a scrape or registration holds a reference.
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
