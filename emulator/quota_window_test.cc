#include "emulator/quota_window.h"

#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/testing/fake_clock.h"

namespace ota {
namespace {

using ::ota::testing::FakeClock;

constexpr absl::Time kStart = absl::FromUnixSeconds(1700000000);

TEST(QuotaWindowTest, AdmitsQpsCallsPerSecondThenThrottles) {
  FakeClock clock(kStart);
  QuotaWindow quota(3, clock);
  EXPECT_TRUE(quota.TryAdmit("acct"));
  EXPECT_TRUE(quota.TryAdmit("acct"));
  EXPECT_TRUE(quota.TryAdmit("acct"));
  EXPECT_FALSE(quota.TryAdmit("acct"));
  clock.Advance(absl::Milliseconds(999));
  EXPECT_FALSE(quota.TryAdmit("acct"));
  // Exactly one second later the first three no longer share a window with this call.
  clock.Advance(absl::Milliseconds(1));
  EXPECT_TRUE(quota.TryAdmit("acct"));
}

TEST(QuotaWindowTest, WindowSlidesInsteadOfResettingOnSecondBoundaries) {
  FakeClock clock(kStart);
  QuotaWindow quota(3, clock);
  EXPECT_TRUE(quota.TryAdmit("acct"));  // t=0
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(quota.TryAdmit("acct"));  // t=0.5
  clock.Advance(absl::Milliseconds(400));
  EXPECT_TRUE(quota.TryAdmit("acct"));  // t=0.9
  clock.Advance(absl::Milliseconds(100));
  EXPECT_TRUE(quota.TryAdmit("acct"));  // t=1.0: the call at 0 left the window
  clock.Advance(absl::Milliseconds(200));
  EXPECT_FALSE(quota.TryAdmit("acct"));  // t=1.2: 0.5, 0.9 and 1.0 are still inside
  clock.Advance(absl::Milliseconds(300));
  EXPECT_TRUE(quota.TryAdmit("acct"));  // t=1.5: 0.5 left
}

TEST(QuotaWindowTest, ThrottledCallsDoNotCount) {
  FakeClock clock(kStart);
  QuotaWindow quota(1, clock);
  EXPECT_TRUE(quota.TryAdmit("acct"));
  for (int i = 0; i < 9; ++i) {
    clock.Advance(absl::Milliseconds(100));
    EXPECT_FALSE(quota.TryAdmit("acct")) << i;
  }
  clock.Advance(absl::Milliseconds(100));  // t=1.0
  EXPECT_TRUE(quota.TryAdmit("acct"));
}

TEST(QuotaWindowTest, AccountsHaveSeparateWindows) {
  FakeClock clock(kStart);
  QuotaWindow quota(2, clock);
  EXPECT_TRUE(quota.TryAdmit("a"));
  EXPECT_TRUE(quota.TryAdmit("a"));
  EXPECT_FALSE(quota.TryAdmit("a"));
  EXPECT_TRUE(quota.TryAdmit("b"));
  EXPECT_TRUE(quota.TryAdmit("b"));
  EXPECT_FALSE(quota.TryAdmit("b"));
}

TEST(QuotaWindowTest, ZeroMeansUnlimited) {
  FakeClock clock(kStart);
  QuotaWindow quota(0, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(quota.TryAdmit("a"));
}

TEST(QuotaWindowTest, ResetForgetsAdmittedCalls) {
  FakeClock clock(kStart);
  QuotaWindow quota(1, clock);
  EXPECT_TRUE(quota.TryAdmit("a"));
  EXPECT_FALSE(quota.TryAdmit("a"));
  quota.Reset();
  EXPECT_TRUE(quota.TryAdmit("a"));
}

}  // namespace
}  // namespace ota
