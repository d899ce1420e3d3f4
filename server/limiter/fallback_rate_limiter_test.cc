#include "server/limiter/fallback_rate_limiter.h"

#include <optional>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::ota::testing::FakeClock;

using ::testing::HasSubstr;

// A shared limiter whose answers and knowledge the test sets.
class FakeShared final : public SharedRateLimiter {
 public:
  void Reserve(const std::string& key, absl::Time, Callback done) override {
    asked.push_back(key);
    std::move(done)(answer);
  }
  std::string Describe() const override { return "fake shared"; }
  std::optional<absl::Time> NewestKnownStart(const std::string&) override { return newest; }
  void RecordFallbackGrant(const std::string& key, absl::Time start) override {
    fallback_grants.emplace_back(key, start);
  }
  void PauseUntil(const std::string& key, absl::Time until) override {
    pauses.emplace_back(key, until);
  }
  void WatchConnection(ConnectionListener l) override {
    listener = std::move(l);
    listener(true, "connected");
  }

  absl::StatusOr<Reservation> answer = absl::UnavailableError("Redis redis://x:1/0 unreachable");
  std::optional<absl::Time> newest;
  std::vector<std::string> asked;
  std::vector<std::pair<std::string, absl::Time>> fallback_grants;
  std::vector<std::pair<std::string, absl::Time>> pauses;
  ConnectionListener listener;
};

const RateLimitOptions kFleet{
    .limit = 10, .window = absl::Seconds(1), .margin = absl::Milliseconds(50), .burst = 5};

absl::StatusOr<Reservation> ReserveInline(RateLimiter& limiter, absl::Time latest) {
  absl::StatusOr<Reservation> result = absl::InternalError("not called");
  limiter.Reserve("acct", latest, [&](absl::StatusOr<Reservation> r) { result = std::move(r); });
  return result;
}

struct Fixture {
  explicit Fixture(RedisFailureMode mode) {
    auto owned = std::make_unique<FakeShared>();
    shared = owned.get();
    limiter = std::make_unique<FallbackRateLimiter>(
        std::move(owned),
        FallbackOptions{.mode = mode,
                        .fleet = kFleet,
                        .expected_replicas = 3,
                        .unknown_pending_horizon = absl::Seconds(30)},
        clock);
  }
  FakeClock clock{absl::FromUnixSeconds(1700000000)};
  FakeShared* shared;
  std::unique_ptr<FallbackRateLimiter> limiter;
};

TEST(LocalShareTest, DividesTheFleetBudgetRoundingDown) {
  const RateLimitOptions three = LocalShare(kFleet, 3);
  EXPECT_EQ(three.limit, 3);
  EXPECT_EQ(three.burst, 1);
  EXPECT_EQ(three.margin, kFleet.margin);
  const RateLimitOptions one = LocalShare(kFleet, 1);
  EXPECT_EQ(one.limit, 10);
  EXPECT_EQ(one.burst, 5);
  EXPECT_EQ(LocalShare(kFleet, 50).limit, 1);
}

TEST(ParseRedisFailureModeTest, KnowsBothModes) {
  EXPECT_EQ(*ParseRedisFailureMode("fail-closed"), RedisFailureMode::kFailClosed);
  EXPECT_EQ(*ParseRedisFailureMode("fail-local"), RedisFailureMode::kFailLocal);
  EXPECT_THAT(ParseRedisFailureMode("fail-open"), Not(IsOk()));
}

TEST(FallbackRateLimiterTest, SharedAnswersPassThrough) {
  Fixture f(RedisFailureMode::kFailLocal);
  f.shared->answer =
      Reservation{.granted = true, .start = f.clock.Now() + absl::Seconds(2), .retry_after = {}};
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->start, f.clock.Now() + absl::Seconds(2));
  EXPECT_TRUE(f.shared->fallback_grants.empty());
}

TEST(FallbackRateLimiterTest, FailClosedAnswersUnavailableAndGrantsNothing) {
  Fixture f(RedisFailureMode::kFailClosed);
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, absl::InfiniteFuture());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("unreachable"));
  EXPECT_THAT(r.status().message(), HasSubstr("fail-closed"));
  EXPECT_TRUE(f.shared->fallback_grants.empty());
}

TEST(FallbackRateLimiterTest, FailLocalStartsAWindowAfterTheNewestSharedSlot) {
  Fixture f(RedisFailureMode::kFailLocal);
  const absl::Time t0 = f.clock.Now();
  // Redis had granted slots up to t0 + 3s before it went away; they are still being spent.
  f.shared->newest = t0 + absl::Seconds(3);
  const absl::Time floor = t0 + absl::Seconds(3) + absl::Milliseconds(1050);
  std::vector<absl::Time> starts;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, absl::InfiniteFuture());
    ASSERT_THAT(r, IsOk());
    ASSERT_TRUE(r->granted);
    starts.push_back(r->start);
  }
  // This replica's share: 3 per window, one at a time (burst 10/5 -> 1 -> 1/3 s apart).
  EXPECT_EQ(starts[0], floor);
  EXPECT_EQ(starts[1], floor + absl::Seconds(1) / 3);
  EXPECT_EQ(starts[2], floor + 2 * (absl::Seconds(1) / 3));
  EXPECT_EQ(starts[3], floor + absl::Milliseconds(1050));
  // Reported back, so Redis will place its next slots after them.
  ASSERT_EQ(f.shared->fallback_grants.size(), 4u);
  EXPECT_EQ(f.shared->fallback_grants.back().second, starts[3]);
}

TEST(FallbackRateLimiterTest, FailLocalRefusalCountsTheWaitFromNow) {
  Fixture f(RedisFailureMode::kFailLocal);
  const absl::Time t0 = f.clock.Now();
  f.shared->newest = t0 + absl::Seconds(3);
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, t0 + absl::Seconds(1));
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->retry_after, absl::Seconds(3) + absl::Milliseconds(1050));
  EXPECT_TRUE(f.shared->fallback_grants.empty());
}

TEST(FallbackRateLimiterTest, FailLocalWithoutKnowledgeWaitsOutTheLongestPossibleReservation) {
  Fixture f(RedisFailureMode::kFailLocal);
  const absl::Time t0 = f.clock.Now();
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok() && r->granted);
  EXPECT_EQ(r->start, t0 + absl::Seconds(30) + absl::Milliseconds(1050));
  // The floor is fixed when the budget is first needed; it does not move with the clock.
  f.clock.Advance(absl::Seconds(5));
  absl::StatusOr<Reservation> second = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_TRUE(second.ok() && second->granted);
  EXPECT_EQ(second->start, r->start + absl::Seconds(1) / 3);
}

TEST(FallbackRateLimiterTest, LocalBudgetRunsOnRealTimeOncePastTheFloor) {
  Fixture f(RedisFailureMode::kFailLocal);
  f.shared->newest = f.clock.Now() - absl::Seconds(10);  // long spent
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok() && r->granted);
  EXPECT_EQ(r->start, f.clock.Now());
}

TEST(FallbackRateLimiterTest, HealthSaysDegradedAndWhichModeIsActive) {
  Fixture f(RedisFailureMode::kFailLocal);
  std::vector<std::pair<bool, std::string>> seen;
  f.limiter->WatchHealth(
      [&](bool degraded, const std::string& detail) { seen.emplace_back(degraded, detail); });
  f.shared->listener(false, "connection refused");
  f.shared->listener(true, "connected");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].first);
  EXPECT_TRUE(seen[1].first);
  EXPECT_THAT(seen[1].second, HasSubstr("connection refused"));
  EXPECT_THAT(seen[1].second, HasSubstr("fail-local"));
  EXPECT_THAT(seen[1].second, HasSubstr("3 calls per 1s"));
  EXPECT_FALSE(seen[2].first);
  EXPECT_THAT(f.limiter->Describe(), HasSubstr("fail-local"));
}

}  // namespace
}  // namespace ota

namespace ota {
namespace {

TEST(FallbackRateLimiterTest, APauseReachesTheSharedBudgetAndTheLocalOne) {
  Fixture f(RedisFailureMode::kFailLocal);
  const absl::Time t0 = f.clock.Now();
  f.shared->newest = t0 - absl::Seconds(10);  // nothing pending from before the outage
  // A local budget exists already (the outage began earlier) and is paused in place.
  absl::StatusOr<Reservation> first = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_TRUE(first.ok() && first->granted);
  EXPECT_EQ(first->start, t0);
  f.limiter->PauseUntil("acct", t0 + absl::Seconds(2));
  ASSERT_EQ(f.shared->pauses.size(), 1u);
  EXPECT_EQ(f.shared->pauses[0], std::make_pair(std::string("acct"), t0 + absl::Seconds(2)));
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, t0 + absl::Seconds(1));
  ASSERT_THAT(r, IsOk());
  EXPECT_FALSE(r->granted);
  EXPECT_EQ(r->retry_after, absl::Seconds(2));
  r = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok() && r->granted);
  EXPECT_EQ(r->start, t0 + absl::Seconds(2));
}

TEST(FallbackRateLimiterTest, APauseBeforeTheOutageHoldsTheLocalBudgetMadeLater) {
  Fixture f(RedisFailureMode::kFailLocal);
  const absl::Time t0 = f.clock.Now();
  f.shared->newest = t0 - absl::Seconds(10);
  f.limiter->PauseUntil("acct", t0 + absl::Milliseconds(1500));
  absl::StatusOr<Reservation> r = ReserveInline(*f.limiter, absl::InfiniteFuture());
  ASSERT_TRUE(r.ok() && r->granted);
  EXPECT_EQ(r->start, t0 + absl::Milliseconds(1500));
  ASSERT_EQ(f.shared->pauses.size(), 1u);
  EXPECT_EQ(f.shared->pauses[0].second, t0 + absl::Milliseconds(1500));
}

}  // namespace
}  // namespace ota
