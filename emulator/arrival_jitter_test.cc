#include "emulator/arrival_jitter.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace ota {
namespace {

TEST(ArrivalJitterTest, OffDelaysNothing) {
  ArrivalJitter jitter(absl::ZeroDuration());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(jitter.Draw(i % 2 == 0), absl::ZeroDuration());
}

TEST(ArrivalJitterTest, RequestsAreDelayedUniformlyUpToTheMaximum) {
  ArrivalJitter jitter(absl::Milliseconds(100));
  absl::Duration lowest = absl::InfiniteDuration();
  absl::Duration highest = absl::ZeroDuration();
  absl::Duration sum = absl::ZeroDuration();
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const absl::Duration d = jitter.Draw(/*new_connection=*/false);
    ASSERT_GE(d, absl::ZeroDuration());
    ASSERT_LE(d, absl::Milliseconds(100));
    lowest = std::min(lowest, d);
    highest = std::max(highest, d);
    sum += d;
  }
  // The whole range is used, and the mean is the middle (20000 draws: within a few ms).
  EXPECT_LT(lowest, absl::Milliseconds(2));
  EXPECT_GT(highest, absl::Milliseconds(98));
  EXPECT_NEAR(absl::ToDoubleMilliseconds(sum / kDraws), 50.0, 2.0);
}

TEST(ArrivalJitterTest, ANewConnectionAddsADrawOfItsOwn) {
  ArrivalJitter jitter(absl::Milliseconds(100));
  absl::Duration highest = absl::ZeroDuration();
  absl::Duration sum = absl::ZeroDuration();
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const absl::Duration d = jitter.Draw(/*new_connection=*/true);
    ASSERT_LE(d, absl::Milliseconds(200));
    highest = std::max(highest, d);
    sum += d;
  }
  EXPECT_GT(highest, absl::Milliseconds(150));
  EXPECT_NEAR(absl::ToDoubleMilliseconds(sum / kDraws), 100.0, 3.0);
}

TEST(ArrivalJitterTest, SetAtRunTimeAndResetToTheStartingValue) {
  ArrivalJitter jitter(absl::Milliseconds(5));
  jitter.Set(absl::ZeroDuration());
  EXPECT_EQ(jitter.Get(), absl::ZeroDuration());
  EXPECT_EQ(jitter.Draw(true), absl::ZeroDuration());
  jitter.Reset();
  EXPECT_EQ(jitter.Get(), absl::Milliseconds(5));
}

TEST(ArrivalJitterTest, ValidatesTheMaximum) {
  EXPECT_TRUE(ValidateArrivalJitter(absl::Milliseconds(100)).ok());
  EXPECT_TRUE(ValidateArrivalJitter(absl::ZeroDuration()).ok());
  EXPECT_EQ(ValidateArrivalJitter(absl::Milliseconds(-1)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateArrivalJitter(absl::Seconds(11)).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ota
