#include "server/base/backoff.h"

#include <gtest/gtest.h>

namespace ota {
namespace {

constexpr BackoffPolicy kPolicy{
    .initial = absl::Milliseconds(100), .max = absl::Seconds(1), .jitter = 1.0};

TEST(BackoffTest, CapDoublesPerAttemptUpToTheMaximum) {
  const Backoff no_jitter({.initial = kPolicy.initial, .max = kPolicy.max, .jitter = 0.0});
  EXPECT_EQ(no_jitter.Delay(1), absl::Milliseconds(100));
  EXPECT_EQ(no_jitter.Delay(2), absl::Milliseconds(200));
  EXPECT_EQ(no_jitter.Delay(4), absl::Milliseconds(800));
  EXPECT_EQ(no_jitter.Delay(5), absl::Seconds(1));
  EXPECT_EQ(no_jitter.Delay(60), absl::Seconds(1));  // no overflow however many failures
}

TEST(BackoffTest, FullJitterSpansZeroToTheCap) {
  EXPECT_EQ(Backoff(kPolicy, [] { return 0.0; }).Delay(3), absl::ZeroDuration());
  EXPECT_EQ(Backoff(kPolicy, [] { return 0.5; }).Delay(3), absl::Milliseconds(200));
  EXPECT_EQ(Backoff(kPolicy, [] { return 1.0; }).Delay(3), absl::Milliseconds(400));
}

TEST(BackoffTest, HalfJitterKeepsAtLeastHalfTheCap) {
  const BackoffPolicy half{.initial = absl::Seconds(1), .max = absl::Minutes(1), .jitter = 0.5};
  EXPECT_EQ(Backoff(half, [] { return 0.0; }).Delay(2), absl::Seconds(1));
  EXPECT_EQ(Backoff(half, [] { return 1.0; }).Delay(2), absl::Seconds(2));
  // A source out of range is clamped, never a negative or over-cap delay.
  EXPECT_EQ(Backoff(half, [] { return -3.0; }).Delay(2), absl::Seconds(1));
  EXPECT_EQ(Backoff(half, [] { return 7.0; }).Delay(2), absl::Seconds(2));
}

TEST(BackoffTest, DefaultSourceStaysWithinTheJitterRange) {
  const Backoff backoff(kPolicy);
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration delay = backoff.Delay(2);
    ASSERT_GE(delay, absl::ZeroDuration());
    ASSERT_LE(delay, absl::Milliseconds(200));
  }
  for (int i = 0; i < 1000; ++i) {
    const double fraction = UniformFraction();
    ASSERT_GE(fraction, 0.0);
    ASSERT_LT(fraction, 1.0);
  }
}

}  // namespace
}  // namespace ota
