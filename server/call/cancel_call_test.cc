#include "server/call/cancel_call.h"

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/attempt_stage.h"
#include "server/limiter/fair_dispatcher.h"
#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/remembered_cancellations.h"
#include "server/observability/gateway_metrics.h"
#include "server/testing/counting_limiter.h"
#include "server/testing/fake_clock.h"
#include "server/testing/manual_scheduler.h"
#include "server/testing/scripted_transport.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::ota::testing::CountingLimiter;
using ::ota::testing::FakeClock;
using ::ota::testing::ManualScheduler;
using ::ota::testing::ScriptedTransport;

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

CancelByJobParams Params(std::string job_id, std::string iot_instance_id = "") {
  return CancelByJobParams{.job_id = std::move(job_id),
                           .iot_instance_id = std::move(iot_instance_id)};
}

HttpResponse Json(int status, std::string body, HeaderList headers = {}) {
  return HttpResponse{.status = status, .headers = std::move(headers), .body = std::move(body)};
}
const char kSuccess[] = R"({"RequestId":"REQ-OK","Success":true})";
const char kThrottled[] =
    R"({"RequestId":"REQ-T","Code":"Throttling.User","Message":"Request was denied due to user flow control."})";
const char kNoSuchJob[] =
    R"({"RequestId":"REQ-NF","Success":false,"Code":"iot.ota.OtaJobNotExist","ErrorMessage":"job not found"})";
const char kSystemError[] =
    R"({"RequestId":"REQ-5","Success":false,"Code":"iot.system.SystemException","ErrorMessage":"A system exception occurred."})";

class CancelByJobRunnerTest : public ::testing::Test {
 protected:
  CancelByJobRunnerTest()
      : clock_(kStart),
        scheduler_(clock_),
        limiter_(RateLimitOptions{.limit = 10, .burst = 5}, clock_),
        query_limiter_(RateLimitOptions{.limit = 10, .burst = 5}, clock_),
        list_limiter_(RateLimitOptions{.limit = 10, .burst = 5}, clock_),
        remembered_({.ttl = absl::Hours(24), .capacity = 100}, clock_),
        credentials_(Credentials{.access_key_id = "LTAItestkeyid01",
                                 .access_key_secret = "test-secret-value",
                                 .security_token = ""},
                     "test") {
    policy_.endpoint = *ParseEndpoint("https://iot.cn-shanghai.aliyuncs.com/");
    policy_.budget_key = {.fixed = "account-1", .source = RateBudgetKey::Source::kConfigured};
  }

  // The runner under test; `limiter` replaces the fixture's counting limiter.
  CancelByJobRunner Runner(RateLimiter* limiter = nullptr) {
    return CancelByJobRunner(CancelByJobDeps{.limiter = limiter != nullptr ? limiter : &limiter_,
                                             .scheduler = &scheduler_,
                                             .transport = &transport_,
                                             .credentials = &credentials_,
                                             .errors = &errors_,
                                             .clock = &clock_,
                                             .metrics = metrics_,
                                             .dispatcher = nullptr,
                                             .query_limiter = &query_limiter_,
                                             .remembered = &remembered_,
                                             .list_limiter = &list_limiter_,
                                             .list_dispatcher = nullptr},
                             policy_);
  }

  // Runs one ListOTAJobByFirmware page request to completion and returns its result.
  CallResult RunList(ListJobsByFirmwareParams params, absl::Duration timeout = absl::Seconds(10)) {
    std::optional<CallResult> result;
    CancelByJobRunner runner = Runner();
    runner.List(std::move(params), clock_.Now() + timeout, nullptr,
                [&](CallResult r) { result = std::move(r); });
    scheduler_.RunAll();
    EXPECT_TRUE(result.has_value());
    return result.value_or(CallResult{});
  }

  // Runs one call to completion and returns its result.
  CallResult RunCall(CancelByJobParams params, absl::Duration timeout = absl::Seconds(10),
                     std::function<bool()> is_cancelled = nullptr) {
    std::optional<CallResult> result;
    CancelByJobRunner runner = Runner();
    runner.Run(std::move(params), clock_.Now() + timeout, std::move(is_cancelled),
               [&](CallResult r) { result = std::move(r); });
    scheduler_.RunAll();
    EXPECT_TRUE(result.has_value());
    return result.value_or(CallResult{});
  }

  FakeClock clock_;
  ManualScheduler scheduler_;
  CountingLimiter limiter_;
  CountingLimiter query_limiter_;  // QueryOTAJob's own budget
  CountingLimiter list_limiter_;   // ListOTAJobByFirmware's own budget
  LocalRememberedCancellations remembered_;
  ScriptedTransport transport_;
  StaticCredentialsProvider credentials_;
  ErrorMapper errors_;
  CancelByJobPolicy policy_;
  GatewayMetrics* metrics_ = nullptr;
};

TEST_F(CancelByJobRunnerTest, SuccessSendsOneSignedCancelRequest) {
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("HvKuBpuk3rdk6E92CP0200", "iot-1"));
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.outcome.request_id, "REQ-OK");
  EXPECT_EQ(result.attempts, 1);
  ASSERT_EQ(transport_.sent.size(), 1U);
  const HttpRequest& request = transport_.sent[0];
  EXPECT_EQ(request.method, "POST");
  EXPECT_THAT(request.url, HasSubstr("JobId=HvKuBpuk3rdk6E92CP0200"));
  EXPECT_THAT(request.url, HasSubstr("IotInstanceId=iot-1"));
  bool has_action = false;
  for (const auto& [name, value] : request.headers) {
    if (name == "x-acs-action") has_action = value == "CancelOTAStrategyByJob";
    EXPECT_THAT(value, Not(HasSubstr("test-secret-value")));
  }
  EXPECT_TRUE(has_action);
}

TEST_F(CancelByJobRunnerTest, InstanceIdIsOmittedWhenEmpty) {
  transport_.script.push_back(Json(200, kSuccess));
  RunCall(Params("J1"));
  ASSERT_EQ(transport_.sent.size(), 1U);
  EXPECT_THAT(transport_.sent[0].url, Not(HasSubstr("IotInstanceId")));
}

TEST_F(CancelByJobRunnerTest, ParameterValuesCannotInjectParameters) {
  policy_.signature_version = SignatureVersion::kV1HmacSha1;
  transport_.script.push_back(Json(200, kSuccess));
  RunCall(Params("J1&Action=Other"));
  ASSERT_EQ(transport_.sent.size(), 1U);
  const std::string& url = transport_.sent[0].url;
  EXPECT_THAT(url, HasSubstr("JobId=J1%26Action%3DOther"));
  EXPECT_THAT(url, HasSubstr("Action=CancelOTAStrategyByJob"));
  EXPECT_THAT(url, Not(HasSubstr("Action=Other")));
}

TEST_F(CancelByJobRunnerTest, BusinessErrorIsNotRetriedAndQueryOtaJobConfirmsNotFound) {
  transport_.script.push_back(Json(200, kNoSuchJob));
  transport_.script.push_back(Json(200, kNoSuchJob));  // QueryOTAJob does not know it either
  CallResult result = RunCall(Params("missing"));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kNotFound);
  EXPECT_EQ(result.outcome.alibaba_code, "iot.ota.OtaJobNotExist");
  EXPECT_EQ(result.outcome.request_id, "REQ-NF");
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(result.queries, 1);
  ASSERT_EQ(transport_.sent.size(), 2U);
  EXPECT_THAT(transport_.sent[1].url, HasSubstr("JobId=missing"));
  bool is_query = false;
  for (const auto& [name, value] : transport_.sent[1].headers) {
    if (name == "x-acs-action") is_query = value == "QueryOTAJob";
  }
  EXPECT_TRUE(is_query);
  EXPECT_EQ(limiter_.reservations, 1) << "the query never takes a cancel slot";
  EXPECT_EQ(query_limiter_.reservations, 1);
}

TEST_F(CancelByJobRunnerTest, ThrottlingIsRetriedWithAFreshSlotAndNonce) {
  transport_.script.push_back(Json(400, kThrottled));
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("J1"));
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.attempts, 2);
  ASSERT_EQ(transport_.sent.size(), 2U);
  auto nonce = [](const HttpRequest& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "x-acs-signature-nonce") return value;
    }
    return std::string();
  };
  EXPECT_FALSE(nonce(transport_.sent[0]).empty());
  EXPECT_NE(nonce(transport_.sent[0]), nonce(transport_.sent[1]));
  // Each attempt took its own slot.
  EXPECT_EQ(limiter_.reservations, 2);
}

TEST_F(CancelByJobRunnerTest, TransientFailuresStopAfterMaxAttempts) {
  for (int i = 0; i < 5; ++i) transport_.script.push_back(Json(200, kSystemError));
  CallResult result = RunCall(Params("J1"));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.outcome.alibaba_code, "iot.system.SystemException");
  EXPECT_EQ(result.attempts, policy_.max_attempts);
}

TEST_F(CancelByJobRunnerTest, NetworkErrorsAreRetried) {
  transport_.script.push_back(absl::UnavailableError("connection reset by peer"));
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("J1"));
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.attempts, 2);
}

TEST_F(CancelByJobRunnerTest, RetryAfterHeaderDelaysTheRetry) {
  transport_.script.push_back(Json(400, kThrottled, {{"x-acs-retry-after", "1500"}}));
  transport_.script.push_back(Json(200, kSuccess));
  std::optional<CallResult> result;
  CancelByJobRunner runner = Runner();
  runner.Run(Params("J1"), kStart + absl::Seconds(10), nullptr,
             [&](CallResult r) { result = std::move(r); });
  scheduler_.RunUntil(kStart);  // the first attempt goes at once
  ASSERT_EQ(transport_.sent.size(), 1U);
  scheduler_.RunUntil(kStart + absl::Milliseconds(1499));
  EXPECT_EQ(transport_.sent.size(), 1U);
  scheduler_.RunAll();
  EXPECT_EQ(transport_.sent.size(), 2U);
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->outcome, IsOk());
}

TEST_F(CancelByJobRunnerTest, RetryThatCannotFitTheDeadlineReportsTheLastError) {
  transport_.script.push_back(Json(400, kThrottled, {{"x-acs-retry-after", "5000"}}));
  CallResult result = RunCall(Params("J1"), absl::Seconds(2));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.outcome.alibaba_code, "Throttling.User");
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(CancelByJobRunnerTest, ThrottlePausesTheBudgetForTheRetryHint) {
  transport_.script.push_back(Json(400, kThrottled, {{"x-acs-retry-after", "1500"}}));
  transport_.script.push_back(Json(200, kSuccess));
  std::optional<CallResult> result;
  CancelByJobRunner runner = Runner();
  runner.Run(Params("J1"), kStart + absl::Seconds(10), nullptr,
             [&](CallResult r) { result = std::move(r); });
  scheduler_.RunUntil(kStart);
  ASSERT_EQ(limiter_.pauses.size(), 1U);
  EXPECT_EQ(limiter_.pauses[0].first, "account-1");
  EXPECT_EQ(limiter_.pauses[0].second, kStart + absl::Milliseconds(1500));
  // Every other caller of the account waits for the pause too, not only the throttled one.
  const Reservation other = limiter_.ReserveNow("account-1", absl::InfiniteFuture());
  ASSERT_TRUE(other.granted);
  EXPECT_GE(other.start, kStart + absl::Milliseconds(1500));
  scheduler_.RunAll();
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->outcome, IsOk());
  EXPECT_EQ(result->attempts, 2);
}

TEST_F(CancelByJobRunnerTest, ThrottlesAreRetriedWhileTheDeadlineLeavesRoomPastMaxAttempts) {
  for (int i = 0; i < 4; ++i) {
    transport_.script.push_back(Json(400, kThrottled, {{"x-acs-retry-after", "500"}}));
  }
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("J1"), absl::Seconds(5));
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.attempts, 5);
  EXPECT_GT(result.attempts, policy_.max_attempts);
  EXPECT_EQ(limiter_.pauses.size(), 4U);
  // Each retry waited out its pause.
  EXPECT_GE(clock_.Now(), kStart + absl::Seconds(2));
}

TEST_F(CancelByJobRunnerTest, ThrottleWithoutAHintPausesOneWindowAndOtherErrorsPauseNothing) {
  transport_.script.push_back(Json(400, kThrottled));
  transport_.script.push_back(Json(200, kSystemError));
  transport_.script.push_back(absl::UnavailableError("connection reset by peer"));
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("J1"));
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  ASSERT_EQ(limiter_.pauses.size(), 1U);
  EXPECT_EQ(limiter_.pauses[0].second, kStart + absl::Seconds(1));
}

TEST_F(CancelByJobRunnerTest, ThrottleThatTheDeadlineCannotOutwaitReachesTheCaller) {
  transport_.script.push_back(Json(400, kThrottled, {{"x-acs-retry-after", "1000"}}));
  CallResult result = RunCall(Params("J1"), absl::Milliseconds(900));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result.outcome.alibaba_code, "Throttling.User");
  ASSERT_TRUE(result.outcome.retry_after.has_value());
  EXPECT_GE(*result.outcome.retry_after, absl::Seconds(1));
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(transport_.sent.size(), 1U);
}

TEST_F(CancelByJobRunnerTest, NoSlotBeforeTheDeadlineFailsFastWithRetryInfo) {
  // Fill the next second of the budget.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(limiter_.ReserveNow("account-1", kStart + absl::Seconds(1)).granted);
  }
  std::optional<CallResult> result;
  CancelByJobRunner runner = Runner();
  runner.Run(Params("J1"), kStart + absl::Milliseconds(500), nullptr,
             [&](CallResult r) { result = std::move(r); });
  // Answered at once, without waiting for time to pass and without sending anything.
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(result->outcome.reason, "RATE_LIMITED");
  ASSERT_TRUE(result->outcome.retry_after.has_value());
  EXPECT_GT(*result->outcome.retry_after, absl::Milliseconds(500));
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(CancelByJobRunnerTest, WaitingCallsAreScheduledNotSent) {
  for (int i = 0; i < 12; ++i) transport_.script.push_back(Json(200, kSuccess));
  CancelByJobRunner runner = Runner();
  int done = 0;
  for (int i = 0; i < 12; ++i) {
    // Distinct batches: a batch already cancelled would be answered from memory.
    runner.Run(Params("J" + std::to_string(i)), kStart + absl::Seconds(30), nullptr,
               [&](CallResult r) {
                 EXPECT_THAT(r.outcome, IsOk());
                 ++done;
               });
  }
  // The burst of 5 is sent at once; the other 7 wait as timers, not as threads.
  EXPECT_EQ(done, 5);
  EXPECT_EQ(scheduler_.PendingTimes().size(), 7U);
  scheduler_.RunUntil(kStart + absl::Milliseconds(999));
  EXPECT_EQ(transport_.sent.size(), 10U);  // the 11th and 12th wait for the next window
  scheduler_.RunAll();
  EXPECT_EQ(done, 12);
}

TEST_F(CancelByJobRunnerTest, DeadlineTooShortIsRejectedWithoutSending) {
  CallResult result = RunCall(Params("J1"), absl::Milliseconds(20));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(result.outcome.reason, "DEADLINE_TOO_SHORT");
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(CancelByJobRunnerTest, CancelledCallerIsNotSent) {
  CallResult result = RunCall(Params("J1"), absl::Seconds(10), [] { return true; });
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kCancelled);
  EXPECT_TRUE(transport_.sent.empty());
}

TEST_F(CancelByJobRunnerTest, CallDroppedAtShutdownStillAnswers) {
  for (int i = 0; i < 10; ++i) (void)limiter_.ReserveNow("account-1", kStart + absl::Seconds(1));
  std::optional<CallResult> result;
  {
    CancelByJobRunner runner = Runner();
    runner.Run(Params("J1"), kStart + absl::Seconds(10), nullptr,
               [&](CallResult r) { result = std::move(r); });
  }
  EXPECT_FALSE(result.has_value());  // waiting for its slot
  scheduler_.DropAll();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result->outcome.reason, "GATEWAY_SHUTTING_DOWN");
}

TEST_F(CancelByJobRunnerTest, CallOutlivingItsRunnerIsSentWithTheRunnersPolicy) {
  for (int i = 0; i < 10; ++i) (void)limiter_.ReserveNow("account-1", kStart + absl::Seconds(1));
  transport_.script.push_back(Json(200, kSuccess));
  std::optional<CallResult> result;
  {
    CancelByJobRunner runner = Runner();
    runner.Run(Params("J1"), kStart + absl::Seconds(10), nullptr,
               [&](CallResult r) { result = std::move(r); });
  }
  // The runner is gone while the call waits for its slot; the policy it shares is not.
  ASSERT_FALSE(result.has_value());
  scheduler_.RunAll();
  ASSERT_TRUE(result.has_value());
  EXPECT_THAT(result->outcome, IsOk()) << result->outcome.message;
  ASSERT_EQ(transport_.sent.size(), 1U);
  EXPECT_THAT(transport_.sent[0].url,
              ::testing::StartsWith("https://iot.cn-shanghai.aliyuncs.com/"));
}

TEST_F(CancelByJobRunnerTest, ResultCarriesTheTimeSpentWaitingForASlot) {
  for (int i = 0; i < 10; ++i) (void)limiter_.ReserveNow("account-1", kStart + absl::Seconds(1));
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("J1"));
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  // Sent (and answered) the moment its slot started: the clock stands at that slot.
  EXPECT_GT(result.limiter_wait, absl::ZeroDuration());
  EXPECT_EQ(result.limiter_wait, clock_.Now() - kStart);
}

// The runner's metrics: attempts, retries, upstream latency, limiter waits and rejections, and the
// calls queued for a slot.
class CancelByJobRunnerMetricsTest : public CancelByJobRunnerTest {
 protected:
  CancelByJobRunnerMetricsTest()
      : serving_("svc", "svc.limiter"),
        gateway_metrics_({"v", "sha"}, serving_, credentials_, KnownAlibabaCodes()) {
    metrics_ = &gateway_metrics_;
  }
  // A counter's or gauge's value.
  double Value(std::string_view name, const MetricLabels& labels = {}) {
    const std::optional<double> value = SampleValue(gateway_metrics_.Collect(), name, labels);
    EXPECT_TRUE(value.has_value()) << name;
    return value.value_or(-1);
  }
  prometheus::ClientMetric::Histogram Histogram(std::string_view name) {
    const std::vector<prometheus::MetricFamily> families = gateway_metrics_.Collect();
    const prometheus::ClientMetric* series = FindSeries(families, name);
    EXPECT_NE(series, nullptr) << name;
    return series == nullptr ? prometheus::ClientMetric::Histogram{} : series->histogram;
  }
  static uint64_t Count(const prometheus::ClientMetric::Histogram& histogram) {
    return histogram.sample_count;
  }

  ServingState serving_;
  GatewayMetrics gateway_metrics_;
};

TEST_F(CancelByJobRunnerMetricsTest, RetryCountsAttemptsRetriesAndAlibabaCodes) {
  transport_.script.push_back(Json(400, kThrottled));
  transport_.script.push_back(Json(200, kSuccess));
  CallResult result = RunCall(Params("J1"));
  ASSERT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(Value("ota_gateway_upstream_attempts_total"), 2);
  EXPECT_EQ(Value("ota_gateway_upstream_retries_total"), 1);
  EXPECT_EQ(Value("ota_gateway_alibaba_errors_total", {{"alibaba_code", "Throttling.User"}}), 1);
  EXPECT_EQ(Value("ota_gateway_upstream_throttles_total"), 1);
  EXPECT_EQ(Count(Histogram("ota_gateway_upstream_duration_seconds")), 2U);
  EXPECT_EQ(Count(Histogram("ota_gateway_limiter_wait_seconds")), 2U);
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 0);
}

TEST_F(CancelByJobRunnerMetricsTest, WaitingCallsAreQueuedWaitersUntilTheirSlot) {
  for (int i = 0; i < 12; ++i) transport_.script.push_back(Json(200, kSuccess));
  CancelByJobRunner runner = Runner();
  for (int i = 0; i < 12; ++i) {
    runner.Run(Params("J" + std::to_string(i)), kStart + absl::Seconds(30), nullptr,
               [](CallResult) {});
  }
  // The burst of 5 went at once; 7 wait for their slot.
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 7);
  scheduler_.RunAll();
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 0);
  const prometheus::ClientMetric::Histogram waits = Histogram("ota_gateway_limiter_wait_seconds");
  EXPECT_EQ(Count(waits), 12U);
  EXPECT_EQ(waits.bucket[0].cumulative_count, 5U);  // the burst: no wait (<= 1 ms)
  EXPECT_GT(waits.sample_sum, 0);
  EXPECT_EQ(Value("ota_gateway_upstream_attempts_total"), 12);
}

TEST_F(CancelByJobRunnerMetricsTest, RefusedSlotIsARateLimitedRejection) {
  for (int i = 0; i < 10; ++i) (void)limiter_.ReserveNow("account-1", kStart + absl::Seconds(1));
  CallResult result = RunCall(Params("J1"), absl::Milliseconds(500));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Value("ota_gateway_limiter_rejections_total", {{"reason", "rate_limited"}}), 1);
  EXPECT_EQ(Value("ota_gateway_limiter_rejections_total", {{"reason", "unavailable"}}), 0);
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 0);
  EXPECT_EQ(Value("ota_gateway_upstream_attempts_total"), 0);
}

// A limiter backend that cannot answer (Redis down, failing closed).
class BrokenLimiter final : public RateLimiter {
 public:
  void Reserve(const std::string&, absl::Time, Callback done) override {
    done(absl::UnavailableError("redis unreachable"));
  }
  void PauseUntil(const std::string&, absl::Time) override {}
  [[nodiscard]] std::string Describe() const override { return "broken"; }
};

TEST_F(CancelByJobRunnerMetricsTest, LimiterFailureIsAnUnavailableRejection) {
  BrokenLimiter broken;
  CancelByJobRunner runner = Runner(&broken);
  std::optional<CallResult> result;
  runner.Run(Params("J1"), kStart + absl::Seconds(5), nullptr,
             [&](CallResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(Value("ota_gateway_limiter_rejections_total", {{"reason", "unavailable"}}), 1);
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 0);
}

TEST_F(CancelByJobRunnerMetricsTest, CallDroppedWhileWaitingLeavesTheQueue) {
  for (int i = 0; i < 10; ++i) (void)limiter_.ReserveNow("account-1", kStart + absl::Seconds(1));
  {
    CancelByJobRunner runner = Runner();
    runner.Run(Params("J1"), kStart + absl::Seconds(10), nullptr, [](CallResult) {});
  }
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 1);
  scheduler_.DropAll();
  EXPECT_EQ(Value("ota_gateway_queued_waiters"), 0);
}

}  // namespace
}  // namespace ota

namespace ota {
namespace {

const char kStatusNotSupported[] =
    R"({"RequestId":"REQ-NS","Success":false,"Code":"iot.ota.OtaJobStatusNotSupported","ErrorMessage":"x"})";

std::string JobState(const std::string& status, const std::string& selection = "DYNAMIC") {
  return R"({"RequestId":"REQ-Q","Success":true,"Data":{"JobId":"J1","JobStatus":")" + status +
         R"(","SelectionType":")" + selection + R"("}})";
}

absl::Status LostAnswer() {
  return WithAttemptStage(absl::UnavailableError("Connection reset by peer"),
                          AttemptStage::kSentWithoutAnswer);
}

TEST_F(CancelByJobRunnerTest, SuccessIsCancelledAndRememberedSoARepeatSendsNothing) {
  transport_.script.push_back(Json(200, kSuccess));
  CallResult first = RunCall(Params("J1", "iot-1"));
  ASSERT_THAT(first.outcome, IsOk());
  EXPECT_EQ(first.outcome.cancel_outcome, CancelOutcome::kCancelled);
  EXPECT_FALSE(first.remembered);

  CallResult repeat = RunCall(Params("J1", "iot-1"));
  ASSERT_THAT(repeat.outcome, IsOk());
  EXPECT_EQ(repeat.outcome.cancel_outcome, CancelOutcome::kAlreadyCancelled);
  EXPECT_EQ(repeat.outcome.request_id, "REQ-OK") << "the original RequestId";
  EXPECT_TRUE(repeat.remembered);
  EXPECT_EQ(repeat.attempts, 0);
  EXPECT_EQ(transport_.sent.size(), 1U) << "no request to Alibaba";
  EXPECT_EQ(limiter_.reservations, 1) << "no quota spent";

  // Another instance's batch of the same id is another batch.
  transport_.script.push_back(Json(200, kSuccess));
  CallResult other = RunCall(Params("J1", "iot-2"));
  EXPECT_EQ(other.outcome.cancel_outcome, CancelOutcome::kCancelled);
  EXPECT_EQ(transport_.sent.size(), 2U);
}

TEST_F(CancelByJobRunnerTest, LostAnswerIsRetriedAndARefusalSettledAsAlreadyCancelled) {
  // The first attempt was applied but its answer lost; the retry is refused (the policy is gone);
  // QueryOTAJob tells the truth.
  transport_.script.push_back(LostAnswer());
  transport_.script.push_back(Json(200, kStatusNotSupported));
  transport_.script.push_back(Json(200, JobState("CANCELED")));
  CallResult result = RunCall(Params("J1"));
  ASSERT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.outcome.cancel_outcome, CancelOutcome::kAlreadyCancelled);
  EXPECT_EQ(result.outcome.request_id, "REQ-Q");
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(result.queries, 1);
  EXPECT_EQ(limiter_.reservations, 2);
  EXPECT_EQ(query_limiter_.reservations, 1);

  CallResult repeat = RunCall(Params("J1"));  // found cancelled: remembered as well
  EXPECT_TRUE(repeat.remembered);
  EXPECT_EQ(repeat.outcome.request_id, "REQ-Q");
  EXPECT_EQ(transport_.sent.size(), 3U);
}

TEST_F(CancelByJobRunnerTest, AnswersLostOnEveryAttemptAreSettledByQueryAfterTheLast) {
  transport_.script.push_back(LostAnswer());
  transport_.script.push_back(Json(200, "<html>cut"));  // unreadable 200: retried too
  transport_.script.push_back(LostAnswer());
  transport_.script.push_back(Json(200, JobState("CANCELED")));
  CallResult result = RunCall(Params("J1"));
  ASSERT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.outcome.cancel_outcome, CancelOutcome::kAlreadyCancelled);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.queries, 1);
}

TEST_F(CancelByJobRunnerTest, LostAnswerAndStillInProgressIsUnavailableNotApplied) {
  for (int i = 0; i < 3; ++i) transport_.script.push_back(LostAnswer());
  transport_.script.push_back(Json(200, JobState("IN_PROGRESS")));
  CallResult result = RunCall(Params("J1"));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.outcome.reason, "UPSTREAM_UNAVAILABLE");
  EXPECT_THAT(result.outcome.message, HasSubstr("not applied"));
  EXPECT_THAT(result.outcome.message, Not(HasSubstr("could not reach")));
}

TEST_F(CancelByJobRunnerTest, FinishedAndStaticBatchesHaveTheirOwnReasons) {
  transport_.script.push_back(Json(200, kStatusNotSupported));
  transport_.script.push_back(Json(200, JobState("COMPLETED")));
  CallResult finished = RunCall(Params("J1"));
  EXPECT_EQ(finished.outcome.code, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(finished.outcome.reason, "JOB_FINISHED");

  transport_.script.push_back(Json(200, kStatusNotSupported));
  transport_.script.push_back(Json(200, JobState("IN_PROGRESS", "STATIC")));
  CallResult fixed = RunCall(Params("J2"));
  EXPECT_EQ(fixed.outcome.code, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fixed.outcome.reason, "JOB_NOT_DYNAMIC");
}

TEST_F(CancelByJobRunnerTest, QueryUnavailableIsRetriedThenOutcomeUnknown) {
  transport_.script.push_back(LostAnswer());
  transport_.script.push_back(LostAnswer());
  transport_.script.push_back(LostAnswer());
  const char k503[] = R"({"RequestId":"Q5","Code":"ServiceUnavailable","Message":"x"})";
  for (int i = 0; i < 3; ++i) transport_.script.push_back(Json(503, k503));
  CallResult result = RunCall(Params("J1"));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.outcome.reason, "OUTCOME_UNKNOWN");
  EXPECT_THAT(result.outcome.message, HasSubstr("may have been applied"));
  EXPECT_THAT(result.outcome.message, HasSubstr("calling again is safe"));
  EXPECT_TRUE(result.outcome.retry_after.has_value());
  EXPECT_EQ(result.queries, 3);
  EXPECT_EQ(query_limiter_.reservations, 3);
  EXPECT_EQ(limiter_.reservations, 3);
}

TEST_F(CancelByJobRunnerTest, NoQuerySlotBeforeTheDeadlineIsOutcomeUnknown) {
  for (int i = 0; i < 10; ++i) {
    (void)query_limiter_.ReserveNow("account-1", kStart + absl::Seconds(10));  // others' queries
  }
  transport_.script.push_back(LostAnswer());
  transport_.script.push_back(Json(200, kStatusNotSupported));
  CallResult result = RunCall(Params("J1"), absl::Milliseconds(900));
  EXPECT_EQ(result.outcome.reason, "OUTCOME_UNKNOWN");
  EXPECT_THAT(result.outcome.message, HasSubstr("QueryOTAJob quota"));
  EXPECT_EQ(result.queries, 0);
}

TEST_F(CancelByJobRunnerTest, NeverSentFailuresNeedNoQuery) {
  for (int i = 0; i < 3; ++i) {
    transport_.script.push_back(
        WithAttemptStage(absl::UnavailableError("Connection refused"), AttemptStage::kNeverSent));
  }
  CallResult result = RunCall(Params("J1"));
  EXPECT_EQ(result.outcome.reason, "UPSTREAM_UNREACHABLE");
  EXPECT_THAT(result.outcome.message, HasSubstr("never sent"));
  EXPECT_EQ(result.queries, 0);
  EXPECT_EQ(transport_.sent.size(), 3U);
}

TEST_F(CancelByJobRunnerTest, WithoutAQueryBudgetALostAnswerIsOutcomeUnknown) {
  transport_.script.push_back(LostAnswer());
  policy_.max_attempts = 1;
  std::optional<CallResult> result;
  CancelByJobRunner runner(CancelByJobDeps{.limiter = &limiter_,
                                           .scheduler = &scheduler_,
                                           .transport = &transport_,
                                           .credentials = &credentials_,
                                           .errors = &errors_,
                                           .clock = &clock_,
                                           .metrics = nullptr,
                                           .dispatcher = nullptr,
                                           .query_limiter = nullptr,
                                           .remembered = nullptr},
                           policy_);
  runner.Run(Params("J1"), kStart + absl::Seconds(10), nullptr,
             [&](CallResult r) { result = std::move(r); });
  scheduler_.RunAll();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome.reason, "OUTCOME_UNKNOWN");
}

TEST_F(CancelByJobRunnerTest, ATransportShuttingDownAfterSendingIsNotSettledByQuery) {
  transport_.script.push_back(
      WithAttemptStage(absl::CancelledError("HTTP transport shut down before the reply"),
                       AttemptStage::kSentWithoutAnswer));
  CallResult result = RunCall(Params("J1"));
  EXPECT_EQ(result.outcome.code, absl::StatusCode::kCancelled);
  EXPECT_EQ(result.queries, 0);
  EXPECT_EQ(query_limiter_.reservations, 0) << "its collaborators may be gone at shutdown";
}

// Through the fair dispatcher: the caller's share decides who is sent next, and its queue cap
// answers CALLER_QUEUE_FULL at once.
TEST_F(CancelByJobRunnerTest, FairDispatcherOrdersCallersAndCapsTheirQueues) {
  FairDispatcher dispatcher(limiter_, scheduler_, clock_,
                            {.rate = {.limit = 10, .burst = 5},
                             .lookahead = absl::Milliseconds(25),
                             .hold_ahead = 0,
                             .default_max_queued = 2,
                             .recheck_delay = absl::Milliseconds(10)});
  CancelByJobRunner runner(CancelByJobDeps{.limiter = &limiter_,
                                           .scheduler = &scheduler_,
                                           .transport = &transport_,
                                           .credentials = &credentials_,
                                           .errors = &errors_,
                                           .clock = &clock_,
                                           .metrics = nullptr,
                                           .dispatcher = &dispatcher,
                                           .query_limiter = nullptr,
                                           .remembered = nullptr},
                           policy_);
  for (int i = 0; i < 10; ++i) transport_.script.push_back(Json(200, kSuccess));
  std::map<std::string, CallResult> results;
  auto run = [&](const std::string& job, const std::string& caller) {
    CancelByJobParams params = Params(job);
    params.caller = {.name = caller, .share = 1, .max_queued = 0};
    runner.Run(std::move(params), clock_.Now() + absl::Seconds(10), nullptr,
               [&results, job](CallResult r) { results[job] = std::move(r); });
  };
  // Five slots are free at once; the bulk caller's next two wait, its eighth finds its queue full.
  for (int i = 0; i < 8; ++i) run(absl::StrCat("BULK", i), "bulk");
  ASSERT_TRUE(results.contains("BULK7"));
  const CallOutcome& full = results["BULK7"].outcome;
  EXPECT_EQ(full.code, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.reason, "CALLER_QUEUE_FULL");
  ASSERT_TRUE(full.retry_after.has_value());
  EXPECT_GT(*full.retry_after, absl::ZeroDuration());
  EXPECT_THAT(full.message, HasSubstr("caller 'bulk'"));
  // The on-call caller asks last but is sent first of those waiting.
  run("ONCALL", "oncall");
  scheduler_.RunAll();
  ASSERT_EQ(transport_.sent.size(), 8U);
  EXPECT_THAT(transport_.sent[5].url, HasSubstr("JobId=ONCALL"));
  EXPECT_THAT(results["ONCALL"].outcome, IsOk());
  EXPECT_GT(results["ONCALL"].limiter_wait, absl::ZeroDuration());
}

// --- ListOTAJobByFirmware through the same call path.

const char kFirmwarePage[] =
    R"({"RequestId":"REQ-L","Success":true,"Total":1,"PageSize":200,"PageCount":1,"CurrentPage":1,)"
    R"("Data":{"SimpleOTAJobInfo":[{"JobId":"J1","JobStatus":"IN_PROGRESS"}]}})";

TEST_F(CancelByJobRunnerTest, ListSendsOneSignedPageRequestOnItsOwnBudget) {
  transport_.script.push_back(Json(200, kFirmwarePage));
  const CallResult result =
      RunList({.firmware_id = "fw-1", .iot_instance_id = "iot-1", .page = 3, .page_size = 200});
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.outcome.request_id, "REQ-L");
  EXPECT_EQ(result.outcome.cancel_outcome, CancelOutcome::kUnspecified);
  EXPECT_EQ(result.upstream_body, kFirmwarePage);
  EXPECT_EQ(result.attempts, 1);
  ASSERT_EQ(transport_.sent.size(), 1U);
  const HttpRequest& request = transport_.sent[0];
  EXPECT_THAT(request.url, HasSubstr("FirmwareId=fw-1"));
  EXPECT_THAT(request.url, HasSubstr("CurrentPage=3"));
  EXPECT_THAT(request.url, HasSubstr("PageSize=200"));
  EXPECT_THAT(request.url, HasSubstr("IotInstanceId=iot-1"));
  bool has_action = false;
  for (const auto& [name, value] : request.headers) {
    if (name == "x-acs-action") has_action = value == "ListOTAJobByFirmware";
  }
  EXPECT_TRUE(has_action);
  // Its slot came from its own budget: the cancels' and the queries' are untouched.
  EXPECT_EQ(list_limiter_.reservations, 1);
  EXPECT_EQ(limiter_.reservations, 0);
  EXPECT_EQ(query_limiter_.reservations, 0);
}

TEST_F(CancelByJobRunnerTest, ListRetriesTransientFailuresAndPausesItsOwnBudgetOnThrottles) {
  transport_.script.push_back(Json(400, kThrottled));
  transport_.script.push_back(Json(200, kSystemError));
  transport_.script.push_back(Json(200, kFirmwarePage));
  const CallResult result = RunList({.firmware_id = "fw-1", .page = 1, .page_size = 50});
  EXPECT_THAT(result.outcome, IsOk()) << result.outcome.message;
  EXPECT_EQ(result.attempts, 3);
  ASSERT_EQ(list_limiter_.pauses.size(), 1U);
  EXPECT_TRUE(limiter_.pauses.empty());
  EXPECT_EQ(list_limiter_.reservations, 3);
  EXPECT_EQ(limiter_.reservations, 0);
}

TEST_F(CancelByJobRunnerTest, ListErrorsAreMappedAndNeverSettledWithQueryOtaJob) {
  transport_.script.push_back(
      Json(200, R"({"RequestId":"REQ-P","Success":false,"Code":"iot.common.InvalidPageParams",)"
                R"("ErrorMessage":"bad paging"})"));
  const CallResult result = RunList({.firmware_id = "fw-1", .page = 1, .page_size = 50});
  EXPECT_THAT(result.outcome, Not(IsOk()));
  EXPECT_EQ(result.outcome.alibaba_code, "iot.common.InvalidPageParams");
  EXPECT_EQ(result.queries, 0);
  EXPECT_EQ(query_limiter_.reservations, 0);
  EXPECT_TRUE(result.upstream_body.empty());
  // A listing is never remembered as a cancellation.
  EXPECT_EQ(transport_.sent.size(), 1U);
}

TEST_F(CancelByJobRunnerTest, ListWithTooShortADeadlineIsNotSent) {
  CancelByJobRunner runner = Runner();
  std::optional<CallResult> result;
  runner.List({.firmware_id = "fw-1", .page = 1, .page_size = 50},
              clock_.Now() + absl::Milliseconds(50), nullptr,
              [&](CallResult r) { result = std::move(r); });
  scheduler_.RunAll();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome.reason, "DEADLINE_TOO_SHORT");
  EXPECT_TRUE(transport_.sent.empty());
}

// Listings have a fair dispatcher and a budget of their own: a caller flooding them neither
// delays its own cancels nor another caller's listing.
TEST_F(CancelByJobRunnerTest, ListingsAreSharedFairlyApartFromTheCancels) {
  const FairDispatcherOptions options{.rate = {.limit = 10, .burst = 5},
                                      .lookahead = absl::Milliseconds(25),
                                      .hold_ahead = 0,
                                      .default_max_queued = 2,
                                      .recheck_delay = absl::Milliseconds(10)};
  FairDispatcher cancel_dispatcher(limiter_, scheduler_, clock_, options);
  FairDispatcher list_dispatcher(list_limiter_, scheduler_, clock_, options);
  CancelByJobRunner runner(CancelByJobDeps{.limiter = &limiter_,
                                           .scheduler = &scheduler_,
                                           .transport = &transport_,
                                           .credentials = &credentials_,
                                           .errors = &errors_,
                                           .clock = &clock_,
                                           .metrics = nullptr,
                                           .dispatcher = &cancel_dispatcher,
                                           .query_limiter = nullptr,
                                           .remembered = nullptr,
                                           .list_limiter = &list_limiter_,
                                           .list_dispatcher = &list_dispatcher},
                           policy_);
  for (int i = 0; i < 5; ++i) transport_.script.push_back(Json(200, kFirmwarePage));
  transport_.script.push_back(Json(200, kSuccess));
  for (int i = 0; i < 3; ++i) transport_.script.push_back(Json(200, kFirmwarePage));
  std::map<std::string, CallResult> results;
  auto list = [&](const std::string& firmware, const std::string& caller) {
    runner.List({.firmware_id = firmware,
                 .iot_instance_id = "",
                 .page = 1,
                 .page_size = 50,
                 .caller = {.name = caller, .share = 1, .max_queued = 0}},
                clock_.Now() + absl::Seconds(10), nullptr,
                [&results, firmware](CallResult r) { results[firmware] = std::move(r); });
  };
  // Five listing slots are free at once; the bulk caller's next two wait, its eighth is refused.
  for (int i = 0; i < 8; ++i) list(absl::StrCat("BULK", i), "bulk");
  ASSERT_TRUE(results.contains("BULK7"));
  EXPECT_EQ(results["BULK7"].outcome.reason, "CALLER_QUEUE_FULL");
  ASSERT_EQ(transport_.sent.size(), 5U);
  // The same caller's cancel is sent at once: the listings hold no cancel slot.
  CancelByJobParams cancel = Params("J1");
  cancel.caller = {.name = "bulk", .share = 1, .max_queued = 0};
  runner.Run(std::move(cancel), clock_.Now() + absl::Seconds(10), nullptr,
             [&results](CallResult r) { results["J1"] = std::move(r); });
  ASSERT_EQ(transport_.sent.size(), 6U);
  EXPECT_THAT(transport_.sent[5].url, HasSubstr("JobId=J1"));
  EXPECT_THAT(results["J1"].outcome, IsOk());
  EXPECT_EQ(results["J1"].limiter_wait, absl::ZeroDuration());
  // Another caller's listing, asked last, is sent first of the listings waiting.
  list("ONCALL", "oncall");
  scheduler_.RunAll();
  ASSERT_EQ(transport_.sent.size(), 9U);
  EXPECT_THAT(transport_.sent[6].url, HasSubstr("FirmwareId=ONCALL"));
  EXPECT_THAT(results["ONCALL"].outcome, IsOk());
  EXPECT_EQ(limiter_.reservations, 1);
  EXPECT_GE(list_limiter_.reservations, 8);  // the dispatcher may ask again for a waiting call
}

}  // namespace
}  // namespace ota
