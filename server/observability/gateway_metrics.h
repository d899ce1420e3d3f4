// GatewayMetrics: every ota_gateway_* Prometheus metric, registered once at start-up, with one
// method per event the service and the call runner report.
//
// The hot-path methods touch only pre-registered series (a relaxed atomic add or two, no lock, no
// allocation), so passing a GatewayMetrics* through the deps structs costs a call nothing
// measurable; tests pass nullptr. Label values are fixed sets: gRPC code names, the Alibaba codes
// of the built-in error table (anything else is "other"), limiter backends and rejection reasons.
// State that already lives elsewhere (serving, credential expiry) is read at scrape time.
//
//   ota::GatewayMetrics metrics({.version = "0.1.0", .git_sha = "1a2b3c4d5e6f"}, serving,
//                               *credentials, ota::KnownAlibabaCodes());
//   metrics.CallStarted();
//   metrics.CallFinished(absl::StatusCode::kOk, absl::Milliseconds(40));
//   std::string body = metrics.registry().RenderText();
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/base/build_info.h"
#include "server/credentials/credentials.h"
#include "server/observability/metrics_registry.h"
#include "server/observability/serving_state.h"

namespace ota {

// Where the rate limiter's budget currently lives.
enum class LimiterBackend { kLocal, kRedis, kDegraded };
// Why the limiter gave a call no slot.
enum class LimiterRejection { kRateLimited, kUnavailable };

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

  // The service: a call accepted, and answered with `code` after `latency` (end to end).
  void CallStarted();
  void CallFinished(absl::StatusCode code, absl::Duration latency);

  // The runner: a call starts or stops waiting for a limiter slot (from asking the limiter until
  // the slot's start time, or until it is refused).
  void SlotWaitStarted();
  void SlotWaitEnded();
  // The limiter granted a slot starting `wait` after it was asked.
  void SlotGranted(absl::Duration wait);
  void SlotRefused(LimiterRejection reason);
  // An upstream request is sent; `is_retry` for every attempt after a call's first.
  void AttemptSent(bool is_retry);
  // An attempt ended after `latency` (answer or transport error); `alibaba_code` is the error Code
  // of Alibaba's answer, empty if it succeeded or never answered.
  void AttemptFinished(absl::Duration latency, std::string_view alibaba_code);

  void SetLimiterBackend(LimiterBackend backend);

  [[nodiscard]] MetricsRegistry& registry() { return registry_; }

 private:
  static constexpr int kGrpcCodes = 17;  // OK (0) .. UNAUTHENTICATED (16)

  MetricsRegistry registry_;
  std::array<Counter*, kGrpcCodes> calls_by_code_{};
  Histogram* call_duration_;
  Gauge* in_flight_;
  Histogram* upstream_duration_;
  Counter* upstream_attempts_;
  Counter* upstream_retries_;
  Histogram* limiter_wait_;
  Counter* rejected_rate_limited_;
  Counter* rejected_unavailable_;
  Gauge* queued_waiters_;
  std::array<Gauge*, 3> limiter_backend_{};  // indexed by LimiterBackend
  // Known Alibaba codes (searched ignoring case, as the error table matches them), then "other".
  std::vector<std::pair<std::string_view, Counter*>> alibaba_errors_;
  Counter* alibaba_errors_other_;
};

}  // namespace ota
