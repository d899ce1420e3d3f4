#include "server/observability/gateway_metrics.h"

#include <limits>

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

}  // namespace

GatewayMetrics::GatewayMetrics(const BuildInfo& build, const ServingState& serving,
                               CredentialsProvider& credentials,
                               const std::vector<std::string_view>& alibaba_codes) {
  registry_.AddGaugeCallback(
      Name("build_info"), "Always 1; the labels say which ota-gateway build is running.",
      {{"version", build.version}, {"git_sha", build.git_sha}}, [] { return 1.0; });

  for (int code = 0; code < kGrpcCodes; ++code) {
    calls_by_code_[static_cast<std::size_t>(code)] = &registry_.AddCounter(
        Name("calls_total"), "CancelByJob calls answered, by gRPC status code.",
        {{"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(code))}});
  }
  call_duration_ = &registry_.AddHistogram(
      Name("call_duration_seconds"),
      "CancelByJob end to end, from arrival to answer (limiter wait and retries included).",
      Bounds(kCallBuckets));
  in_flight_ = &registry_.AddGauge(Name("in_flight_calls"), "Calls accepted and not yet answered.");

  upstream_duration_ = &registry_.AddHistogram(
      Name("upstream_duration_seconds"),
      "One upstream attempt: from sending the signed request to Alibaba's answer or the transport "
      "error.",
      Bounds(kUpstreamBuckets));
  upstream_attempts_ = &registry_.AddCounter(Name("upstream_attempts_total"),
                                             "Requests sent to Alibaba, retries included.");
  upstream_retries_ = &registry_.AddCounter(
      Name("upstream_retries_total"), "Requests sent to Alibaba that retried an earlier attempt.");
  const char* alibaba_help =
      "Error answers from Alibaba (every attempt's), by Alibaba Code; codes outside the built-in "
      "table are counted as other.";
  for (std::string_view code : alibaba_codes) {
    alibaba_errors_.emplace_back(code,
                                 &registry_.AddCounter(Name("alibaba_errors_total"), alibaba_help,
                                                       {{"alibaba_code", std::string(code)}}));
  }
  alibaba_errors_other_ = &registry_.AddCounter(Name("alibaba_errors_total"), alibaba_help,
                                                {{"alibaba_code", "other"}});

  limiter_wait_ = &registry_.AddHistogram(
      Name("limiter_wait_seconds"),
      "How long granted limiter slots made their attempt wait (0 when a slot was free).",
      Bounds(kLimiterWaitBuckets));
  const char* rejection_help =
      "Attempts the rate limiter gave no slot: rate_limited (none free before the deadline or "
      "--max-wait), unavailable (the shared limiter could not answer).";
  rejected_rate_limited_ = &registry_.AddCounter(Name("limiter_rejections_total"), rejection_help,
                                                 {{"reason", "rate_limited"}});
  rejected_unavailable_ = &registry_.AddCounter(Name("limiter_rejections_total"), rejection_help,
                                                {{"reason", "unavailable"}});
  queued_waiters_ = &registry_.AddGauge(Name("queued_waiters"),
                                        "Calls waiting for their rate limiter slot to start.");
  const char* backend_help =
      "1 on where the rate limiter's budget lives now: local (in-process), redis (shared), "
      "degraded (Redis unreachable: failing closed or on the local fallback share).";
  constexpr std::array<const char*, 3> kBackendNames = {"local", "redis", "degraded"};
  for (std::size_t i = 0; i < kBackendNames.size(); ++i) {
    limiter_backend_[i] =
        &registry_.AddGauge(Name("limiter_backend"), backend_help, {{"backend", kBackendNames[i]}});
  }

  registry_.AddGaugeCallback(
      Name("credentials_expiry_timestamp_seconds"),
      "When the Alibaba credentials in use expire (Unix time); +Inf for a long-lived AccessKey, 0 "
      "when no usable credentials can be had.",
      {}, [&credentials] {
        absl::StatusOr<Credentials> current = credentials.Get();
        if (!current.ok()) return 0.0;
        if (current->expiration == absl::InfiniteFuture()) {
          return std::numeric_limits<double>::infinity();
        }
        return absl::ToDoubleSeconds(current->expiration - absl::UnixEpoch());
      });
  registry_.AddGaugeCallback(
      Name("serving"),
      "1 while the gRPC health status of ota.v1.OtaStrategyService is SERVING, else 0.", {},
      [&serving] { return serving.Get().serving ? 1.0 : 0.0; });
}

void GatewayMetrics::CallStarted() { in_flight_->Add(1); }

void GatewayMetrics::CallFinished(absl::StatusCode code, absl::Duration latency) {
  in_flight_->Add(-1);
  const int index = static_cast<int>(code);
  // Codes outside gRPC's (absl reserves a few) are what gRPC would send: UNKNOWN.
  calls_by_code_[index >= 0 && index < kGrpcCodes
                     ? static_cast<std::size_t>(index)
                     : static_cast<std::size_t>(absl::StatusCode::kUnknown)]
      ->Increment();
  call_duration_->Observe(Seconds(latency));
}

void GatewayMetrics::SlotWaitStarted() { queued_waiters_->Add(1); }

void GatewayMetrics::SlotWaitEnded() { queued_waiters_->Add(-1); }

void GatewayMetrics::SlotGranted(absl::Duration wait) { limiter_wait_->Observe(Seconds(wait)); }

void GatewayMetrics::SlotRefused(LimiterRejection reason) {
  (reason == LimiterRejection::kRateLimited ? rejected_rate_limited_ : rejected_unavailable_)
      ->Increment();
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

void GatewayMetrics::SetLimiterBackend(LimiterBackend backend) {
  for (std::size_t i = 0; i < limiter_backend_.size(); ++i) {
    limiter_backend_[i]->Set(i == static_cast<std::size_t>(backend) ? 1 : 0);
  }
}

}  // namespace ota
