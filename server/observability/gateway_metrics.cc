#include "server/observability/gateway_metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <limits>
#include <string>

#include "absl/strings/match.h"

namespace ota {
namespace {

// Buckets in seconds. A call may queue for a limiter slot up to --max-wait (30 s by default), so
// the end-to-end buckets reach further than the per-attempt ones.
constexpr std::array kCallBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25, 0.5,
                                     1.0,   2.5,  5.0,   10.0, 20.0, 30.0, 60.0};
constexpr std::array kUpstreamBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                         0.5,   1.0,  2.5,   5.0,  10.0};
// Most slots are free at once (wait 0): the first bucket separates those from real waits.
constexpr std::array kLimiterWaitBuckets = {0.001, 0.01, 0.05, 0.1,  0.25, 0.5,
                                            1.0,   2.5,  5.0,  10.0, 20.0, 30.0};

constexpr char kPrefix[] = "ota_gateway_";

std::string Name(std::string_view suffix) { return std::string(kPrefix).append(suffix); }

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

template <std::size_t N>
std::vector<double> Bounds(const std::array<double, N>& bounds) {
  return {bounds.begin(), bounds.end()};
}

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& registry,
                                                       std::string_view suffix,
                                                       const std::string& help) {
  return prometheus::BuildCounter().Name(Name(suffix)).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& GaugeFamily(prometheus::Registry& registry,
                                                   std::string_view suffix,
                                                   const std::string& help) {
  return prometheus::BuildGauge().Name(Name(suffix)).Help(help).Register(registry);
}

}  // namespace

AtomicHistogram::AtomicHistogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {}

void AtomicHistogram::Observe(double value) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

prometheus::ClientMetric::Histogram AtomicHistogram::Collect() const {
  prometheus::ClientMetric::Histogram out;
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out.bucket.push_back({.cumulative_count = cumulative,
                          .upper_bound = i < upper_bounds_.size()
                                             ? upper_bounds_[i]
                                             : std::numeric_limits<double>::infinity()});
  }
  out.sample_count = cumulative;
  out.sample_sum = sum_.load(std::memory_order_relaxed);
  return out;
}

GatewayMetrics::GatewayMetrics(const BuildInfo& build, const ServingState& serving,
                               CredentialsProvider& credentials,
                               const std::vector<std::string_view>& alibaba_codes)
    : serving_(serving), credentials_(credentials) {
  GaugeFamily(registry_, "build_info",
              "Always 1; the labels say which ota-gateway build is running.")
      .Add({{"version", build.version}, {"git_sha", build.git_sha}})
      .Set(1);

  auto& calls = CounterFamily(registry_, "calls_total",
                              "Calls answered, by gRPC method (rpc) and status code.");
  for (std::size_t rpc = 0; rpc < kRpcMethods; ++rpc) {
    const std::string rpc_name(RpcMethodName(static_cast<RpcMethod>(rpc)));
    for (int code = 0; code < kGrpcCodes; ++code) {
      calls_by_code_[rpc][static_cast<std::size_t>(code)] =
          &calls.Add({{"rpc", rpc_name},
                      {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}});
    }
    call_durations_[rpc] = std::make_unique<AtomicHistogram>(Bounds(kCallBuckets));
  }
  in_flight_ =
      &GaugeFamily(registry_, "in_flight_calls", "Calls accepted and not yet answered.").Add({});

  upstream_duration_ = &AddHistogram(
      "upstream_duration_seconds",
      "One upstream attempt: from sending the signed request to Alibaba's answer or the transport "
      "error.",
      Bounds(kUpstreamBuckets));
  upstream_attempts_ = &CounterFamily(registry_, "upstream_attempts_total",
                                      "Requests sent to Alibaba, retries included.")
                            .Add({});
  upstream_retries_ = &CounterFamily(registry_, "upstream_retries_total",
                                     "Requests sent to Alibaba that retried an earlier attempt.")
                           .Add({});
  upstream_throttles_ =
      &CounterFamily(
           registry_, "upstream_throttles_total",
           "Attempts Alibaba throttled (Throttling codes, HTTP 429, HTTP 503 with a retry "
           "hint); each paused the account's budget for the retry hint. Should stay 0.")
           .Add({});
  auto& alibaba_errors = CounterFamily(
      registry_, "alibaba_errors_total",
      "Error answers from Alibaba (every attempt's), by Alibaba Code; codes outside the built-in "
      "table are counted as other.");
  for (std::string_view code : alibaba_codes) {
    alibaba_errors_.emplace_back(code, &alibaba_errors.Add({{"alibaba_code", std::string(code)}}));
  }
  alibaba_errors_other_ = &alibaba_errors.Add({{"alibaba_code", "other"}});

  limiter_wait_ = &AddHistogram(
      "limiter_wait_seconds",
      "How long granted limiter slots made their attempt wait (0 when a slot was free).",
      Bounds(kLimiterWaitBuckets));
  auto& rejections = CounterFamily(
      registry_, "limiter_rejections_total",
      "Attempts the rate limiter gave no slot: rate_limited (none free before the deadline or "
      "--max-wait), unavailable (the shared limiter could not answer).");
  rejected_rate_limited_ = &rejections.Add({{"reason", "rate_limited"}});
  rejected_unavailable_ = &rejections.Add({{"reason", "unavailable"}});
  rejected_queue_full_ = &rejections.Add({{"reason", "caller_queue_full"}});
  caller_queued_ = &GaugeFamily(registry_, "caller_queued_calls",
                                "Calls waiting for a limiter slot, by caller (callers-file names, "
                                "anonymous, other).");
  caller_granted_ =
      &CounterFamily(registry_, "caller_slots_granted_total", "Limiter slots granted, by caller.");
  caller_refused_ = &CounterFamily(
      registry_, "caller_refusals_total",
      "Calls the limiter gave no slot, by caller and reason: rate_limited, caller_queue_full "
      "(the caller's max_queued calls were already waiting), unavailable.");
  AddCallers({"anonymous", "other"});
  other_caller_ = SeriesOf("other");
  queued_waiters_ = &GaugeFamily(registry_, "queued_waiters",
                                 "Calls waiting for their rate limiter slot to start.")
                         .Add({});
  auto& backend = GaugeFamily(
      registry_, "limiter_backend",
      "1 on where the rate limiter's budget lives now: local (in-process), redis (shared), "
      "degraded (Redis unreachable: failing closed or on the local fallback share).");
  constexpr std::array<const char*, 3> kBackendNames = {"local", "redis", "degraded"};
  for (std::size_t i = 0; i < kBackendNames.size(); ++i) {
    limiter_backend_[i] = &backend.Add({{"backend", kBackendNames[i]}});
  }

  credentials_expiry_ =
      &GaugeFamily(registry_, "credentials_expiry_timestamp_seconds",
                   "When the Alibaba credentials in use expire (Unix time); +Inf for a long-lived "
                   "AccessKey, 0 when no usable credentials can be had.")
           .Add({});
  serving_gauge_ =
      &GaugeFamily(
           registry_, "serving",
           "1 while the gRPC health status of ota.v1.OtaStrategyService is SERVING, else 0.")
           .Add({});
}

AtomicHistogram& GatewayMetrics::AddHistogram(std::string_view suffix, std::string help,
                                              std::vector<double> upper_bounds) {
  histograms_.push_back({.name = Name(suffix),
                         .help = std::move(help),
                         .histogram = std::make_unique<AtomicHistogram>(std::move(upper_bounds))});
  return *histograms_.back().histogram;
}

std::string_view RpcMethodName(RpcMethod rpc) {
  switch (rpc) {
    case RpcMethod::kCancelByJob:
      return "CancelByJob";
    case RpcMethod::kListJobsByFirmware:
      return "ListJobsByFirmware";
  }
  return "CancelByJob";
}

void GatewayMetrics::CallStarted() { in_flight_->Increment(); }

void GatewayMetrics::CallFinished(absl::StatusCode code, absl::Duration latency, RpcMethod rpc) {
  in_flight_->Decrement();
  const int index = static_cast<int>(code);
  const auto method = static_cast<std::size_t>(rpc);
  // Codes outside gRPC's (absl reserves a few) are what gRPC would send: UNKNOWN.
  calls_by_code_[method][index >= 0 && index < kGrpcCodes
                             ? static_cast<std::size_t>(index)
                             : static_cast<std::size_t>(absl::StatusCode::kUnknown)]
      ->Increment();
  call_durations_[method]->Observe(Seconds(latency));
}

void GatewayMetrics::AddCallers(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(callers_mu_);
  for (const std::string& name : names) {
    if (callers_.contains(name)) continue;
    auto series = std::make_unique<CallerSeries>(CallerSeries{
        .queued = &caller_queued_->Add({{"caller", name}}),
        .granted = &caller_granted_->Add({{"caller", name}}),
        .refused_rate_limited =
            &caller_refused_->Add({{"caller", name}, {"reason", "rate_limited"}}),
        .refused_unavailable = &caller_refused_->Add({{"caller", name}, {"reason", "unavailable"}}),
        .refused_queue_full =
            &caller_refused_->Add({{"caller", name}, {"reason", "caller_queue_full"}}),
        .wait = std::make_unique<AtomicHistogram>(Bounds(kLimiterWaitBuckets))});
    callers_.emplace(name, std::move(series));
  }
}

const GatewayMetrics::CallerSeries* GatewayMetrics::SeriesOf(std::string_view caller) const {
  std::lock_guard<std::mutex> lock(callers_mu_);
  auto it = callers_.find(caller);
  return it == callers_.end() ? other_caller_ : it->second.get();
}

void GatewayMetrics::SlotWaitStarted(const CallerSeries* caller) {
  queued_waiters_->Increment();
  if (caller != nullptr) caller->queued->Increment();
}

void GatewayMetrics::SlotWaitEnded(const CallerSeries* caller) {
  queued_waiters_->Decrement();
  if (caller != nullptr) caller->queued->Decrement();
}

void GatewayMetrics::SlotGranted(absl::Duration wait, const CallerSeries* caller) {
  limiter_wait_->Observe(Seconds(wait));
  if (caller != nullptr) {
    caller->granted->Increment();
    caller->wait->Observe(Seconds(wait));
  }
}

void GatewayMetrics::SlotRefused(LimiterRejection reason, const CallerSeries* caller) {
  switch (reason) {
    case LimiterRejection::kRateLimited:
      rejected_rate_limited_->Increment();
      if (caller != nullptr) caller->refused_rate_limited->Increment();
      break;
    case LimiterRejection::kUnavailable:
      rejected_unavailable_->Increment();
      if (caller != nullptr) caller->refused_unavailable->Increment();
      break;
    case LimiterRejection::kCallerQueueFull:
      rejected_queue_full_->Increment();
      if (caller != nullptr) caller->refused_queue_full->Increment();
      break;
  }
}

void GatewayMetrics::AttemptSent(bool is_retry) {
  upstream_attempts_->Increment();
  if (is_retry) upstream_retries_->Increment();
}

void GatewayMetrics::AttemptFinished(absl::Duration latency, std::string_view alibaba_code) {
  upstream_duration_->Observe(Seconds(latency));
  if (alibaba_code.empty()) return;
  for (const auto& [known, counter] : alibaba_errors_) {
    if (absl::EqualsIgnoreCase(absl::string_view(known.data(), known.size()),
                               absl::string_view(alibaba_code.data(), alibaba_code.size()))) {
      counter->Increment();
      return;
    }
  }
  alibaba_errors_other_->Increment();
}

void GatewayMetrics::UpstreamThrottled() { upstream_throttles_->Increment(); }

void GatewayMetrics::SetLimiterBackend(LimiterBackend backend) {
  for (std::size_t i = 0; i < limiter_backend_.size(); ++i) {
    limiter_backend_[i]->Set(i == static_cast<std::size_t>(backend) ? 1 : 0);
  }
}

std::vector<prometheus::MetricFamily> GatewayMetrics::Collect() const {
  absl::StatusOr<Credentials> current = credentials_.Get();
  credentials_expiry_->Set(!current.ok() ? 0.0
                           : current->expiration == absl::InfiniteFuture()
                               ? std::numeric_limits<double>::infinity()
                               : absl::ToDoubleSeconds(current->expiration - absl::UnixEpoch()));
  serving_gauge_->Set(serving_.Get().serving ? 1.0 : 0.0);

  std::vector<prometheus::MetricFamily> families = registry_.Collect();
  for (const HistogramFamily& family : histograms_) {
    prometheus::ClientMetric series;
    series.histogram = family.histogram->Collect();
    families.push_back({.name = family.name,
                        .help = family.help,
                        .type = prometheus::MetricType::Histogram,
                        .metric = {std::move(series)}});
  }
  prometheus::MetricFamily call_durations{
      .name = Name("call_duration_seconds"),
      .help =
          "Calls end to end, from arrival to answer (limiter wait and retries included), by "
          "gRPC method (rpc).",
      .type = prometheus::MetricType::Histogram,
      .metric = {}};
  for (std::size_t rpc = 0; rpc < kRpcMethods; ++rpc) {
    prometheus::ClientMetric metric;
    metric.label = {
        {.name = "rpc", .value = std::string(RpcMethodName(static_cast<RpcMethod>(rpc)))}};
    metric.histogram = call_durations_[rpc]->Collect();
    call_durations.metric.push_back(std::move(metric));
  }
  families.push_back(std::move(call_durations));
  prometheus::MetricFamily caller_waits{
      .name = Name("caller_wait_seconds"),
      .help = "How long granted limiter slots made their attempt wait, by caller.",
      .type = prometheus::MetricType::Histogram,
      .metric = {}};
  {
    std::lock_guard<std::mutex> lock(callers_mu_);
    for (const auto& [name, series] : callers_) {
      prometheus::ClientMetric metric;
      metric.label = {{.name = "caller", .value = name}};
      metric.histogram = series->wait->Collect();
      caller_waits.metric.push_back(std::move(metric));
    }
  }
  families.push_back(std::move(caller_waits));
  return families;
}

std::string GatewayMetrics::RenderText() const {
  return prometheus::TextSerializer().Serialize(Collect());
}

const prometheus::ClientMetric* FindSeries(const std::vector<prometheus::MetricFamily>& families,
                                           std::string_view name, const MetricLabels& labels) {
  for (const prometheus::MetricFamily& family : families) {
    if (family.name != name) continue;
    for (const prometheus::ClientMetric& series : family.metric) {
      std::vector<prometheus::ClientMetric::Label> wanted;
      for (const auto& [label, value] : labels) wanted.push_back({label, value});
      std::vector<prometheus::ClientMetric::Label> have = series.label;
      std::sort(wanted.begin(), wanted.end());
      std::sort(have.begin(), have.end());
      if (have == wanted) return &series;
    }
  }
  return nullptr;
}

std::optional<double> SampleValue(const std::vector<prometheus::MetricFamily>& families,
                                  std::string_view name, const MetricLabels& labels) {
  const prometheus::ClientMetric* series = FindSeries(families, name, labels);
  if (series == nullptr) return std::nullopt;
  for (const prometheus::MetricFamily& family : families) {
    if (family.name == name && family.type == prometheus::MetricType::Counter) {
      return series->counter.value;
    }
  }
  return series->gauge.value;
}

}  // namespace ota
