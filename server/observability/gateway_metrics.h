// GatewayMetrics: every ota_gateway_* Prometheus metric, registered once at start-up in a
// prometheus-cpp registry, with one method per event the service and the call runner report.
//
// The hot-path methods touch only pre-registered series (a relaxed atomic add or two, no lock, no
// allocation), so passing a GatewayMetrics* through the deps structs costs a call nothing
// measurable; tests pass nullptr. Counters and gauges are prometheus-cpp's (lock-free atomics);
// histograms are AtomicHistogram below, because prometheus-cpp 1.0's Histogram::Observe takes a
// mutex. Label values are fixed sets: gRPC code names, the Alibaba codes of the built-in error
// table (anything else is "other"), limiter backends and rejection reasons. State that already
// lives elsewhere (serving, credential expiry) is read at scrape time.
//
//   ota::GatewayMetrics metrics({.version = "0.1.0", .git_sha = "1a2b3c4d5e6f"}, serving,
//                               *credentials, ota::KnownAlibabaCodes());
//   metrics.CallStarted();
//   metrics.CallFinished(absl::StatusCode::kOk, absl::Milliseconds(40),
//   ota::RpcMethod::kCancelByJob); std::string body = metrics.RenderText();  // prometheus-cpp's
//   TextSerializer, format 0.0.4
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/base/build_info.h"
#include "server/credentials/credentials.h"
#include "server/observability/serving_state.h"

namespace ota {

// Where the rate limiter's budget currently lives.
enum class LimiterBackend { kLocal, kRedis, kDegraded };
// The gRPC method a call was made to: the `rpc` label of calls_total and call_duration_seconds.
enum class RpcMethod { kCancelByJob, kListJobsByFirmware };
inline constexpr std::size_t kRpcMethods = 2;
[[nodiscard]] std::string_view RpcMethodName(RpcMethod rpc);

// Why the limiter gave a call no slot.
enum class LimiterRejection { kRateLimited, kUnavailable, kCallerQueueFull };

// Counts observations into buckets fixed at construction: Observe is a search over a dozen bounds
// and two relaxed atomic adds. A scrape racing an Observe may see the observation in its bucket
// but not yet in the sum; the count is derived from the buckets, so _count always equals the +Inf
// bucket.
class AtomicHistogram {
 public:
  // `upper_bounds`: finite, strictly ascending; the +Inf bucket is implied.
  explicit AtomicHistogram(std::vector<double> upper_bounds);

  void Observe(double value);
  // Cumulative buckets, as prometheus-cpp's serializer writes them.
  [[nodiscard]] prometheus::ClientMetric::Histogram Collect() const;

 private:
  const std::vector<double> upper_bounds_;
  // One per bound plus the +Inf bucket, not cumulative; an array because std::atomic cannot live
  // in a vector.
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

class GatewayMetrics {
 public:
  // `serving` and `credentials` are read at each scrape and must outlive this object.
  // `alibaba_codes` labels ota_gateway_alibaba_errors_total (every other code counts as "other"):
  // the codes of the error table (KnownAlibabaCodes() in call/error_mapping.h), views of storage
  // that outlives this object.
  GatewayMetrics(const BuildInfo& build, const ServingState& serving,
                 CredentialsProvider& credentials,
                 const std::vector<std::string_view>& alibaba_codes);
  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // The service: a call accepted, and a call of `rpc` answered with `code` after `latency` (end to
  // end).
  void CallStarted();
  void CallFinished(absl::StatusCode code, absl::Duration latency,
                    RpcMethod rpc = RpcMethod::kCancelByJob);

  // One caller's series (label `caller`): queued calls, slots granted, refusals by reason, wait.
  struct CallerSeries {
    prometheus::Gauge* queued;
    prometheus::Counter* granted;
    prometheus::Counter* refused_rate_limited;
    prometheus::Counter* refused_unavailable;
    prometheus::Counter* refused_queue_full;
    std::unique_ptr<AtomicHistogram> wait;
  };
  // Registers series for these caller names (the callers file's; idempotent, never removes): the
  // label's values are these, "anonymous" and "other", so its cardinality is the operators' choice.
  void AddCallers(const std::vector<std::string>& names);
  // The series of `caller`, or of "other" for a name without its own; valid as long as this object.
  [[nodiscard]] const CallerSeries* SeriesOf(std::string_view caller) const;

  // The runner: a call starts or stops waiting for a limiter slot (from asking the limiter until
  // the slot's start time, or until it is refused); `caller` (optional) is counted too.
  void SlotWaitStarted(const CallerSeries* caller = nullptr);
  void SlotWaitEnded(const CallerSeries* caller = nullptr);
  // The limiter granted a slot starting `wait` after it was asked.
  void SlotGranted(absl::Duration wait, const CallerSeries* caller = nullptr);
  void SlotRefused(LimiterRejection reason, const CallerSeries* caller = nullptr);
  // An upstream request is sent; `is_retry` for every attempt after a call's first.
  void AttemptSent(bool is_retry);
  // An attempt ended after `latency` (answer or transport error); `alibaba_code` is the error Code
  // of Alibaba's answer, empty if it succeeded or never answered.
  void AttemptFinished(absl::Duration latency, std::string_view alibaba_code);
  // Alibaba throttled an attempt (a Throttling code, HTTP 429, or 503 with a retry hint): the
  // gateway's spacing did not hold at Alibaba's end, and the account's budget pauses.
  void UpstreamThrottled();

  void SetLimiterBackend(LimiterBackend backend);

  // Every family, read now (scrape-time gauges included).
  [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const;
  // Collect() as Prometheus text exposition format 0.0.4, for GET /metrics.
  [[nodiscard]] std::string RenderText() const;

 private:
  static constexpr int kGrpcCodes = 17;  // OK (0) .. UNAUTHENTICATED (16)

  struct HistogramFamily {
    std::string name;
    std::string help;
    std::unique_ptr<AtomicHistogram> histogram;
  };
  AtomicHistogram& AddHistogram(std::string_view suffix, std::string help,
                                std::vector<double> upper_bounds);

  const ServingState& serving_;
  CredentialsProvider& credentials_;
  prometheus::Registry registry_;
  std::vector<HistogramFamily> histograms_;

  std::array<std::array<prometheus::Counter*, kGrpcCodes>, kRpcMethods> calls_by_code_{};
  std::array<std::unique_ptr<AtomicHistogram>, kRpcMethods> call_durations_;
  prometheus::Gauge* in_flight_;
  AtomicHistogram* upstream_duration_;
  prometheus::Counter* upstream_attempts_;
  prometheus::Counter* upstream_retries_;
  prometheus::Counter* upstream_throttles_;
  AtomicHistogram* limiter_wait_;
  prometheus::Counter* rejected_rate_limited_;
  prometheus::Counter* rejected_unavailable_;
  prometheus::Counter* rejected_queue_full_;
  prometheus::Family<prometheus::Gauge>* caller_queued_;
  prometheus::Family<prometheus::Counter>* caller_granted_;
  prometheus::Family<prometheus::Counter>* caller_refused_;
  mutable std::mutex callers_mu_;
  std::map<std::string, std::unique_ptr<CallerSeries>, std::less<>> callers_;  // guarded
  const CallerSeries* other_caller_ = nullptr;
  prometheus::Gauge* queued_waiters_;
  std::array<prometheus::Gauge*, 3> limiter_backend_{};  // indexed by LimiterBackend
  // Known Alibaba codes (searched ignoring case, as the error table matches them), then "other".
  std::vector<std::pair<std::string_view, prometheus::Counter*>> alibaba_errors_;
  prometheus::Counter* alibaba_errors_other_;
  // Set from their sources at each scrape.
  prometheus::Gauge* credentials_expiry_;
  prometheus::Gauge* serving_gauge_;
};

// Label name/value pairs of one series.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// The series of family `name` with exactly `labels`, or nullptr (for tests and probes that read
// one value back).
[[nodiscard]] const prometheus::ClientMetric* FindSeries(
    const std::vector<prometheus::MetricFamily>& families, std::string_view name,
    const MetricLabels& labels = {});
// The value of the counter or gauge series `name{labels}`, or nullopt.
[[nodiscard]] std::optional<double> SampleValue(
    const std::vector<prometheus::MetricFamily>& families, std::string_view name,
    const MetricLabels& labels = {});

}  // namespace ota
