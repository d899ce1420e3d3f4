#include "server/api/caller_deadline.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "server/call/call_outcome.h"

namespace ota {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

TEST(CallerDeadlineTest, NoDeadlineGetsTheDefault) {
  const CallerDeadline d =
      ResolveCallerDeadline(std::chrono::system_clock::time_point::max(), kNow, absl::Seconds(10));
  EXPECT_TRUE(d.defaulted);
  EXPECT_EQ(d.at, kNow + absl::Seconds(10));
}

TEST(CallerDeadlineTest, TheCallersDeadlineIsKeptUpTo24Hours) {
  const CallerDeadline own =
      ResolveCallerDeadline(absl::ToChronoTime(kNow + absl::Seconds(3)), kNow, absl::Seconds(10));
  EXPECT_FALSE(own.defaulted);
  EXPECT_EQ(own.at, kNow + absl::Seconds(3));
  const CallerDeadline far =
      ResolveCallerDeadline(absl::ToChronoTime(kNow + absl::Hours(48)), kNow, absl::Seconds(10));
  EXPECT_EQ(far.at, kNow + absl::Hours(24));
}

TEST(CallerDeadlineTest, ARefusalTheDefaultDeadlineDecidedSaysWhichApplied) {
  const CallerDeadline d{.at = kNow, .defaulted = true, .default_timeout = absl::Seconds(10)};
  for (CallOutcome outcome :
       {GatewayError(absl::StatusCode::kResourceExhausted, "RATE_LIMITED", "no slot"),
        GatewayError(absl::StatusCode::kDeadlineExceeded, "DEADLINE_TOO_SHORT", "too short")}) {
    const std::string before = outcome.message;
    MentionDefaultDeadline(d, outcome);
    EXPECT_THAT(outcome.message, HasSubstr(before + " (you set no deadline, so the gateway's "
                                                    "default deadline of 10s applied"));
    EXPECT_THAT(outcome.message, EndsWith("ota-cancel --timeout 30s)"));
  }
}

TEST(CallerDeadlineTest, OtherOutcomesAndOwnDeadlinesAreLeftAlone) {
  const CallerDeadline defaulted{
      .at = kNow, .defaulted = true, .default_timeout = absl::Seconds(10)};
  for (CallOutcome outcome :
       {GatewayError(absl::StatusCode::kResourceExhausted, "GATEWAY_OVERLOADED", "busy"),
        GatewayError(absl::StatusCode::kNotFound, "JOB_NOT_FOUND", "no job"), CallOutcome{}}) {
    const std::string before = outcome.message;
    MentionDefaultDeadline(defaulted, outcome);
    EXPECT_EQ(outcome.message, before);
  }
  const CallerDeadline own{.at = kNow, .defaulted = false, .default_timeout = absl::Seconds(10)};
  CallOutcome refused = GatewayError(absl::StatusCode::kDeadlineExceeded, "UPSTREAM_TIMEOUT", "x");
  MentionDefaultDeadline(own, refused);
  EXPECT_EQ(refused.message, "x");
}

}  // namespace
}  // namespace ota
