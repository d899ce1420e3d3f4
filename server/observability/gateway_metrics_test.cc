#include "server/observability/gateway_metrics.h"

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/call/error_mapping.h"

namespace ota {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Credentials whose answer the test changes.
class SettableCredentials final : public CredentialsProvider {
 public:
  [[nodiscard]] absl::StatusOr<Credentials> Get() override { return answer; }
  [[nodiscard]] std::string Describe() const override { return "test"; }
  absl::StatusOr<Credentials> answer = Credentials{.access_key_id = "LTAIkeyid0001",
                                                   .access_key_secret = "very-secret-value",
                                                   .security_token = ""};
};

class GatewayMetricsTest : public ::testing::Test {
 protected:
  GatewayMetricsTest()
      : serving_("svc", "svc.limiter"),
        metrics_({.version = "1.2.3", .git_sha = "abc123"}, serving_, credentials_,
                 KnownAlibabaCodes()) {}

  // A counter's or gauge's value.
  double Value(std::string_view name, const MetricLabels& labels = {}) {
    const std::optional<double> value = SampleValue(metrics_.Collect(), name, labels);
    EXPECT_TRUE(value.has_value()) << name;
    return value.value_or(-1);
  }
  prometheus::ClientMetric::Histogram Histogram(std::string_view name,
                                                const MetricLabels& labels = {}) {
    const std::vector<prometheus::MetricFamily> families = metrics_.Collect();
    const prometheus::ClientMetric* series = FindSeries(families, name, labels);
    EXPECT_NE(series, nullptr) << name;
    return series == nullptr ? prometheus::ClientMetric::Histogram{} : series->histogram;
  }
  uint64_t HistogramCount(std::string_view name, const MetricLabels& labels = {}) {
    return Histogram(name, labels).sample_count;
  }

  ServingState serving_;
  SettableCredentials credentials_;
  GatewayMetrics metrics_;
};

TEST_F(GatewayMetricsTest, BuildInfoCarriesVersionAndSha) {
  EXPECT_EQ(Value("ota_gateway_build_info", {{"version", "1.2.3"}, {"git_sha", "abc123"}}), 1);
}

TEST_F(GatewayMetricsTest, CallsAreCountedByGrpcCodeNameWithLatency) {
  metrics_.CallStarted();
  metrics_.CallStarted();
  EXPECT_EQ(Value("ota_gateway_in_flight_calls"), 2);
  metrics_.CallFinished(absl::StatusCode::kOk, absl::Milliseconds(30));
  metrics_.CallFinished(absl::StatusCode::kNotFound, absl::Milliseconds(70));
  EXPECT_EQ(Value("ota_gateway_in_flight_calls"), 0);
  EXPECT_EQ(Value("ota_gateway_calls_total", {{"rpc", "CancelByJob"}, {"code", "OK"}}), 1);
  EXPECT_EQ(Value("ota_gateway_calls_total", {{"rpc", "CancelByJob"}, {"code", "NOT_FOUND"}}), 1);
  EXPECT_EQ(Value("ota_gateway_calls_total", {{"rpc", "CancelByJob"}, {"code", "UNAUTHENTICATED"}}),
            0);
  EXPECT_EQ(HistogramCount("ota_gateway_call_duration_seconds", {{"rpc", "CancelByJob"}}), 2U);
  EXPECT_DOUBLE_EQ(
      Histogram("ota_gateway_call_duration_seconds", {{"rpc", "CancelByJob"}}).sample_sum, 0.1);
}

TEST_F(GatewayMetricsTest, EachRpcHasItsOwnCallsAndLatency) {
  metrics_.CallStarted();
  metrics_.CallStarted();
  metrics_.CallFinished(absl::StatusCode::kOk, absl::Milliseconds(30), RpcMethod::kCancelByJob);
  metrics_.CallFinished(absl::StatusCode::kOk, absl::Milliseconds(80),
                        RpcMethod::kListJobsByFirmware);
  EXPECT_EQ(Value("ota_gateway_calls_total", {{"rpc", "ListJobsByFirmware"}, {"code", "OK"}}), 1);
  EXPECT_EQ(Value("ota_gateway_calls_total", {{"rpc", "CancelByJob"}, {"code", "OK"}}), 1);
  EXPECT_EQ(HistogramCount("ota_gateway_call_duration_seconds", {{"rpc", "ListJobsByFirmware"}}),
            1U);
  EXPECT_DOUBLE_EQ(
      Histogram("ota_gateway_call_duration_seconds", {{"rpc", "ListJobsByFirmware"}}).sample_sum,
      0.08);
}

TEST_F(GatewayMetricsTest, CodesOutsideGrpcsCountAsUnknown) {
  metrics_.CallStarted();
  metrics_.CallFinished(static_cast<absl::StatusCode>(20), absl::ZeroDuration());
  EXPECT_EQ(Value("ota_gateway_calls_total", {{"rpc", "CancelByJob"}, {"code", "UNKNOWN"}}), 1);
}

TEST_F(GatewayMetricsTest, AlibabaCodesAreBoundedToTheKnownTable) {
  metrics_.AttemptFinished(absl::Milliseconds(5), "");  // success: no error counted
  metrics_.AttemptFinished(absl::Milliseconds(5), "iot.ota.OtaJobNotExist");
  metrics_.AttemptFinished(absl::Milliseconds(5), "IOT.OTA.OTAJOBNOTEXIST");  // case ignored
  metrics_.AttemptFinished(absl::Milliseconds(5), "Throttling.User");
  metrics_.AttemptFinished(absl::Milliseconds(5), "iot.ota.JobId-0001-Unheard-Of");
  EXPECT_EQ(Value("ota_gateway_alibaba_errors_total", {{"alibaba_code", "iot.ota.OtaJobNotExist"}}),
            2);
  EXPECT_EQ(Value("ota_gateway_alibaba_errors_total", {{"alibaba_code", "Throttling.User"}}), 1);
  EXPECT_EQ(Value("ota_gateway_alibaba_errors_total", {{"alibaba_code", "other"}}), 1);
  EXPECT_EQ(HistogramCount("ota_gateway_upstream_duration_seconds"), 5U);
  EXPECT_THAT(metrics_.RenderText(), Not(HasSubstr("Unheard")));
}

TEST_F(GatewayMetricsTest, AttemptsRetriesAndLimiter) {
  metrics_.AttemptSent(false);
  metrics_.AttemptSent(true);
  metrics_.AttemptSent(true);
  EXPECT_EQ(Value("ota_gateway_upstream_attempts_total"), 3);
  EXPECT_EQ(Value("ota_gateway_upstream_retries_total"), 2);
  metrics_.SlotWaitStarted();
  metrics_.SlotWaitStarted();
  metrics_.SlotWaitEnded();
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 1);
  metrics_.SlotGranted(absl::Milliseconds(250));
  EXPECT_EQ(HistogramCount("ota_gateway_limiter_wait_seconds"), 1U);
  metrics_.SlotRefused(LimiterRejection::kRateLimited);
  metrics_.SlotRefused(LimiterRejection::kUnavailable);
  metrics_.SlotRefused(LimiterRejection::kUnavailable);
  EXPECT_EQ(Value("ota_gateway_limiter_rejections_total", {{"reason", "rate_limited"}}), 1);
  EXPECT_EQ(Value("ota_gateway_limiter_rejections_total", {{"reason", "unavailable"}}), 2);
}

TEST_F(GatewayMetricsTest, PerCallerSeriesHaveBoundedLabels) {
  metrics_.AddCallers({"rollout", "oncall"});
  metrics_.AddCallers({"rollout"});  // a reload naming it again adds nothing
  const GatewayMetrics::CallerSeries* oncall = metrics_.SeriesOf("oncall");
  const GatewayMetrics::CallerSeries* stranger = metrics_.SeriesOf("x-ota-caller-of-the-day");
  EXPECT_EQ(stranger, metrics_.SeriesOf("other"));
  EXPECT_NE(metrics_.SeriesOf("anonymous"), stranger);
  metrics_.SlotWaitStarted(oncall);
  metrics_.SlotWaitStarted(stranger);
  EXPECT_EQ(Value("ota_gateway_caller_queued_calls", {{"caller", "oncall"}}), 1);
  EXPECT_EQ(Value("ota_gateway_caller_queued_calls", {{"caller", "other"}}), 1);
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 2);
  metrics_.SlotWaitEnded(oncall);
  metrics_.SlotGranted(absl::Milliseconds(120), oncall);
  metrics_.SlotRefused(LimiterRejection::kCallerQueueFull, stranger);
  metrics_.SlotRefused(LimiterRejection::kRateLimited, oncall);
  EXPECT_EQ(Value("ota_gateway_caller_queued_calls", {{"caller", "oncall"}}), 0);
  EXPECT_EQ(Value("ota_gateway_caller_slots_granted_total", {{"caller", "oncall"}}), 1);
  EXPECT_EQ(Value("ota_gateway_caller_refusals_total",
                  {{"caller", "other"}, {"reason", "caller_queue_full"}}),
            1);
  EXPECT_EQ(Value("ota_gateway_caller_refusals_total",
                  {{"caller", "oncall"}, {"reason", "rate_limited"}}),
            1);
  EXPECT_EQ(Value("ota_gateway_caller_refusals_total",
                  {{"caller", "rollout"}, {"reason", "unavailable"}}),
            0);
  EXPECT_EQ(Value("ota_gateway_limiter_rejections_total", {{"reason", "caller_queue_full"}}), 1);
  const std::vector<prometheus::MetricFamily> families = metrics_.Collect();
  const prometheus::ClientMetric* wait =
      FindSeries(families, "ota_gateway_caller_wait_seconds", {{"caller", "oncall"}});
  ASSERT_NE(wait, nullptr);
  EXPECT_EQ(wait->histogram.sample_count, 1U);
  EXPECT_THAT(metrics_.RenderText(), Not(HasSubstr("x-ota-caller-of-the-day")));
  EXPECT_THAT(metrics_.RenderText(),
              HasSubstr("ota_gateway_caller_wait_seconds_bucket{caller=\"rollout\""));
}

TEST_F(GatewayMetricsTest, LimiterBackendIsOneHot) {
  auto backends = [&] {
    return std::vector<double>{Value("ota_gateway_limiter_backend", {{"backend", "local"}}),
                               Value("ota_gateway_limiter_backend", {{"backend", "redis"}}),
                               Value("ota_gateway_limiter_backend", {{"backend", "degraded"}})};
  };
  metrics_.SetLimiterBackend(LimiterBackend::kRedis);
  EXPECT_EQ(backends(), (std::vector<double>{0, 1, 0}));
  metrics_.SetLimiterBackend(LimiterBackend::kDegraded);
  EXPECT_EQ(backends(), (std::vector<double>{0, 0, 1}));
  metrics_.SetLimiterBackend(LimiterBackend::kLocal);
  EXPECT_EQ(backends(), (std::vector<double>{1, 0, 0}));
}

TEST_F(GatewayMetricsTest, CredentialsExpiryIsReadAtScrapeTime) {
  EXPECT_EQ(Value("ota_gateway_credentials_expiry_timestamp_seconds"),
            std::numeric_limits<double>::infinity());
  Credentials temporary = *credentials_.answer;
  temporary.expiration = absl::FromUnixSeconds(1'800'000'123);
  credentials_.answer = temporary;
  EXPECT_EQ(Value("ota_gateway_credentials_expiry_timestamp_seconds"), 1'800'000'123);
  credentials_.answer = absl::UnavailableError("refresh failed");
  EXPECT_EQ(Value("ota_gateway_credentials_expiry_timestamp_seconds"), 0);
  EXPECT_THAT(metrics_.RenderText(), Not(HasSubstr("very-secret-value")));
  EXPECT_THAT(metrics_.RenderText(), Not(HasSubstr("LTAIkeyid0001")));
}

TEST_F(GatewayMetricsTest, ServingFollowsServingState) {
  EXPECT_EQ(Value("ota_gateway_serving"), 0);
  serving_.SetServing(true);
  EXPECT_EQ(Value("ota_gateway_serving"), 1);
  serving_.StopServing();
  EXPECT_EQ(Value("ota_gateway_serving"), 0);
}

}  // namespace
}  // namespace ota
