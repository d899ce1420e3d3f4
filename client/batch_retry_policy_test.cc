#include "client/batch_retry_policy.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace ota::client {
namespace {

std::optional<CallError> Failed(grpc::StatusCode code,
                                std::optional<absl::Duration> retry_delay = {},
                                std::string reason = {}) {
  CallError error;
  error.code = code;
  error.reason = std::move(reason);
  error.retry_delay = retry_delay;
  return error;
}

// Jitter pinned to its largest value: the delay is the backoff cap.
BatchRetryPolicy Pinned() {
  return BatchRetryPolicy([] { return 1.0; });
}

TEST(BatchRetryPolicyTest, SuccessAndSettledErrorsAreNotRetried) {
  const BatchRetryPolicy policy = Pinned();
  EXPECT_FALSE(policy.Decide(std::nullopt, 1, absl::Minutes(1)).retry);
  for (grpc::StatusCode code :
       {grpc::StatusCode::NOT_FOUND, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::INTERNAL}) {
    EXPECT_FALSE(policy.Decide(Failed(code, absl::Seconds(1)), 1, absl::Minutes(1)).retry)
        << static_cast<int>(code);
  }
}

TEST(BatchRetryPolicyTest, ResourceExhaustedWaitsTheAdvertisedDelay) {
  const RetryDecision decision = Pinned().Decide(
      Failed(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Milliseconds(1700)), 3, absl::Minutes(1));
  EXPECT_TRUE(decision.retry);
  EXPECT_EQ(decision.delay, absl::Milliseconds(1700));
}

TEST(BatchRetryPolicyTest, ResourceExhaustedWithoutRetryInfoIsFinal) {
  EXPECT_FALSE(
      Pinned().Decide(Failed(grpc::StatusCode::RESOURCE_EXHAUSTED), 1, absl::Minutes(1)).retry);
}

TEST(BatchRetryPolicyTest, UnavailableBacksOffExponentiallyUpToTheCap) {
  const BatchRetryPolicy policy = Pinned();
  const std::optional<CallError> unavailable = Failed(grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(policy.Decide(unavailable, 1, absl::Minutes(1)).delay, absl::Milliseconds(500));
  EXPECT_EQ(policy.Decide(unavailable, 2, absl::Minutes(1)).delay, absl::Seconds(1));
  EXPECT_EQ(policy.Decide(unavailable, 3, absl::Minutes(1)).delay, absl::Seconds(2));
  EXPECT_EQ(policy.Decide(unavailable, 9, absl::Minutes(1)).delay, absl::Seconds(4));
  // The gateway's own RetryInfo wins when it asks for longer.
  EXPECT_EQ(
      policy.Decide(Failed(grpc::StatusCode::UNAVAILABLE, absl::Seconds(3)), 1, absl::Minutes(1))
          .delay,
      absl::Seconds(3));
}

TEST(BatchRetryPolicyTest, JitterShortensTheBackoffByAtMostHalf) {
  const BatchRetryPolicy policy([] { return 0.0; });
  EXPECT_EQ(policy.Decide(Failed(grpc::StatusCode::UNAVAILABLE), 2, absl::Minutes(1)).delay,
            absl::Milliseconds(500));
}

TEST(BatchRetryPolicyTest, OnlyDeadlinesThatLeftNothingAppliedAreRetried) {
  const BatchRetryPolicy policy = Pinned();
  EXPECT_TRUE(policy
                  .Decide(Failed(grpc::StatusCode::DEADLINE_EXCEEDED, {}, "UPSTREAM_TIMEOUT"), 1,
                          absl::Minutes(1))
                  .retry);
  EXPECT_TRUE(policy
                  .Decide(Failed(grpc::StatusCode::DEADLINE_EXCEEDED, {}, "SHARED_CALL_TIMEOUT"), 1,
                          absl::Minutes(1))
                  .retry);
  EXPECT_FALSE(policy
                   .Decide(Failed(grpc::StatusCode::DEADLINE_EXCEEDED, {}, "DEADLINE_TOO_SHORT"), 1,
                           absl::Minutes(1))
                   .retry);
  EXPECT_FALSE(
      policy.Decide(Failed(grpc::StatusCode::DEADLINE_EXCEEDED), 1, absl::Minutes(1)).retry);
}

TEST(BatchRetryPolicyTest, NoRetryThatTheBudgetCannotHold) {
  const BatchRetryPolicy policy = Pinned();
  const std::optional<CallError> throttled =
      Failed(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Seconds(2));
  EXPECT_TRUE(policy.Decide(throttled, 1, absl::Seconds(2) + kMinAttemptTime).retry);
  EXPECT_FALSE(
      policy.Decide(throttled, 1, absl::Seconds(2) + kMinAttemptTime - absl::Milliseconds(1))
          .retry);
}

}  // namespace
}  // namespace ota::client
