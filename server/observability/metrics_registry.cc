#include "server/observability/metrics_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace ota {
namespace {

// Registration happens at start-up from constants, so a mistake is the programmer's: say which
// and stop, like a failed CHECK.
[[noreturn]] void RegistrationError(std::string_view name, std::string_view problem) {
  std::fprintf(stderr, "MetricsRegistry: metric '%.*s': %.*s\n", static_cast<int>(name.size()),
               name.data(), static_cast<int>(problem.size()), problem.data());
  std::abort();
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  // The first bucket whose bound is >= value (buckets are "less than or equal"); NaN and values
  // above every bound land in the +Inf bucket.
  const auto bucket = std::isnan(value)
                          ? upper_bounds_.size()
                          : static_cast<std::size_t>(std::lower_bound(upper_bounds_.begin(),
                                                                      upper_bounds_.end(), value) -
                                                     upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.upper_bounds = upper_bounds_;
  snapshot.bucket_counts.reserve(upper_bounds_.size() + 1);
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    snapshot.bucket_counts.push_back(counts_[i].load(std::memory_order_relaxed));
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

MetricsRegistry::Family& MetricsRegistry::FamilyFor(std::string_view name, std::string_view help,
                                                    MetricType type, const MetricLabels& labels) {
  if (!IsValidPrometheusMetricName(name)) RegistrationError(name, "invalid metric name");
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!IsValidPrometheusLabelName(label)) RegistrationError(name, "invalid label name");
    if (type == MetricType::kHistogram && label == "le") {
      RegistrationError(name, "a histogram cannot have a label named le");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[j].first == label) RegistrationError(name, "a label name is given twice");
    }
  }
  for (const std::unique_ptr<Family>& family : families_) {
    if (family->name != name) continue;
    if (family->type != type) RegistrationError(name, "registered before with another type");
    if (family->help != help) RegistrationError(name, "registered before with another help text");
    for (const Series& series : family->series) {
      if (series.labels == labels) RegistrationError(name, "this series is registered already");
    }
    return *family;
  }
  families_.push_back(std::make_unique<Family>(
      Family{.name = std::string(name), .help = std::string(help), .type = type, .series = {}}));
  return *families_.back();
}

Counter& MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                     MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, help, MetricType::kCounter, labels);
  Series& series = family.series.emplace_back();
  series.labels = std::move(labels);
  series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                 MetricLabels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, help, MetricType::kGauge, labels);
  Series& series = family.series.emplace_back();
  series.labels = std::move(labels);
  series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                         std::vector<double> upper_bounds, MetricLabels labels) {
  for (std::size_t i = 0; i < upper_bounds.size(); ++i) {
    if (!std::isfinite(upper_bounds[i])) RegistrationError(name, "a bucket bound is not finite");
    if (i > 0 && !(upper_bounds[i - 1] < upper_bounds[i])) {
      RegistrationError(name, "bucket bounds must be strictly ascending");
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, help, MetricType::kHistogram, labels);
  Series& series = family.series.emplace_back();
  series.labels = std::move(labels);
  series.histogram = std::make_unique<Histogram>(std::move(upper_bounds));
  return *series.histogram;
}

void MetricsRegistry::AddGaugeCallback(std::string_view name, std::string_view help,
                                       MetricLabels labels, std::function<double()> read) {
  if (!read) RegistrationError(name, "the callback is empty");
  std::lock_guard<std::mutex> lock(mu_);
  Family& family = FamilyFor(name, help, MetricType::kGauge, labels);
  Series& series = family.series.emplace_back();
  series.labels = std::move(labels);
  series.read = std::move(read);
}

std::vector<FamilySnapshot> MetricsRegistry::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<FamilySnapshot> snapshot;
  snapshot.reserve(families_.size());
  for (const std::unique_ptr<Family>& family : families_) {
    FamilySnapshot& out = snapshot.emplace_back();
    out.name = family->name;
    out.help = family->help;
    out.type = family->type;
    out.series.reserve(family->series.size());
    for (const Series& series : family->series) {
      SeriesSnapshot& sample = out.series.emplace_back();
      sample.labels = series.labels;
      if (series.counter) {
        sample.value = static_cast<double>(series.counter->value());
      } else if (series.gauge) {
        sample.value = series.gauge->value();
      } else if (series.histogram) {
        sample.histogram = series.histogram->Snapshot();
      } else {
        sample.value = series.read();
      }
    }
  }
  return snapshot;
}

std::string MetricsRegistry::RenderText() const { return RenderPrometheusText(Snapshot()); }

}  // namespace ota
