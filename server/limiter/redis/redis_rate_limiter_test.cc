// Runs the reservation script against a real redis-server: the rules, the pipelined concurrency,
// expiry, NOSCRIPT and restarts are Redis behaviour, so real time and real I/O are the point here.
#include "server/limiter/redis/redis_rate_limiter.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/redis_test_server.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::ota::testing::FakeClock;
using ::ota::testing::RedisTestServer;

using ::testing::HasSubstr;

constexpr absl::Duration kTolerance = absl::Milliseconds(30);

RedisRateLimiterOptions Options(const RedisEndpoint& endpoint) {
  return {.endpoint = endpoint,
          .rate = {.limit = 10,
                   .window = absl::Seconds(1),
                   .margin = absl::Milliseconds(50),
                   .burst = 5},
          .key_prefix = "test:"};
}

absl::StatusOr<Reservation> ReserveSync(RateLimiter& limiter, const std::string& key,
                                        absl::Time latest_start) {
  std::promise<absl::StatusOr<Reservation>> done;
  limiter.Reserve(key, latest_start,
                  [&](absl::StatusOr<Reservation> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

// Retries until Redis answers again (the limiter reconnects by itself, with backoff).
absl::StatusOr<Reservation> ReserveWhenBack(RateLimiter& limiter, const std::string& key,
                                            absl::Time latest_start) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  absl::StatusOr<Reservation> r;
  do {
    r = ReserveSync(limiter, key, latest_start);
    if (r.ok()) return r;
    absl::SleepFor(absl::Milliseconds(20));
  } while (absl::Now() < give_up);
  return r;
}

std::unique_ptr<RedisConnection> Admin(const RedisTestServer& redis) {
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(redis.endpoint(), absl::Seconds(1));
  EXPECT_THAT(connection, IsOk());
  return connection.ok() ? *std::move(connection) : nullptr;
}

class RedisRateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
    ASSERT_THAT(redis, IsOk());
    redis_ = *std::move(redis);
  }
  std::unique_ptr<RedisTestServer> redis_;
};

TEST_F(RedisRateLimiterTest, PlacesSlotsExactlyLikeTheInProcessLimiter) {
  RedisRateLimiter redis_limiter(Options(redis_->endpoint()), SystemClock::Get());
  const RateLimitOptions rate = Options(redis_->endpoint()).rate;
  FakeClock fake(absl::FromUnixSeconds(1700000000));
  LocalRateLimiter local(rate, fake);

  std::vector<absl::Time> shared_starts;
  for (int i = 0; i < 25; ++i) {
    absl::StatusOr<Reservation> r = ReserveSync(redis_limiter, "acct", absl::InfiniteFuture());
    ASSERT_THAT(r, IsOk());
    ASSERT_TRUE(r->granted);
    shared_starts.push_back(r->start);
  }
  for (int i = 0; i < 25; ++i) {
    const Reservation expected = local.ReserveNow("acct", absl::InfiniteFuture());
    const absl::Duration expected_offset = expected.start - fake.Now();
    const absl::Duration offset = shared_starts[static_cast<std::size_t>(i)] - shared_starts[0];
    EXPECT_LE(absl::AbsDuration(offset - expected_offset), kTolerance)
        << "slot " << i << ": redis +" << offset << ", in-process +" << expected_offset;
  }
  // The rules themselves: 5 back to back, the next 5 half a second later, then the window rule.
  EXPECT_LE(shared_starts[4] - shared_starts[0], kTolerance);
  EXPECT_GE(shared_starts[5] - shared_starts[0], absl::Milliseconds(500) - kTolerance);
  EXPECT_GE(shared_starts[10] - shared_starts[0], absl::Milliseconds(1050) - kTolerance);
}

TEST_F(RedisRateLimiterTest, RefusesPastTheLatestStartWithoutConsumingASlot) {
  RedisRateLimiter limiter(Options(redis_->endpoint()), SystemClock::Get());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(ReserveSync(limiter, "acct", absl::InfiniteFuture())->granted);
  }
  // The 11th slot is a window after the first: ~1.05s away.
  const absl::Time now = absl::Now();
  absl::StatusOr<Reservation> refused = ReserveSync(limiter, "acct", now + absl::Milliseconds(200));
  ASSERT_THAT(refused, IsOk());
  EXPECT_FALSE(refused->granted);
  EXPECT_GT(refused->retry_after, absl::Milliseconds(800));
  EXPECT_LT(refused->retry_after, absl::Milliseconds(1100));
  absl::StatusOr<Reservation> granted = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  ASSERT_TRUE(granted.ok() && granted->granted);
  // Nothing was spent by the refusal: the grant gets the slot the refusal was offered.
  EXPECT_LE(absl::AbsDuration(granted->start - (now + refused->retry_after)), kTolerance);
}

TEST_F(RedisRateLimiterTest, ReplicasShareOneBudget) {
  RedisRateLimiter replica_a(Options(redis_->endpoint()), SystemClock::Get());
  RedisRateLimiter replica_b(Options(redis_->endpoint()), SystemClock::Get());
  absl::Time first;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Reservation> r = ReserveSync(replica_a, "acct", absl::InfiniteFuture());
    ASSERT_TRUE(r.ok() && r->granted);
    if (i == 0) first = r->start;
  }
  absl::StatusOr<Reservation> b = ReserveSync(replica_b, "acct", absl::InfiniteFuture());
  ASSERT_TRUE(b.ok() && b->granted);
  EXPECT_GE(b->start - first, absl::Milliseconds(500) - kTolerance);
  // Another account is a separate budget.
  absl::StatusOr<Reservation> other = ReserveSync(replica_b, "other", absl::InfiniteFuture());
  ASSERT_TRUE(other.ok() && other->granted);
  EXPECT_LE(other->start - absl::Now(), kTolerance);
}

TEST_F(RedisRateLimiterTest, ConcurrentCallersArePipelinedAndNeverBreakTheRules) {
  RedisRateLimiter limiter(Options(redis_->endpoint()), SystemClock::Get());
  constexpr int kCalls = 300;
  std::mutex mu;
  std::vector<absl::Time> starts;
  std::atomic<int> answered{0};
  std::promise<void> all;
  for (int i = 0; i < kCalls; ++i) {
    limiter.Reserve("acct", absl::InfiniteFuture(), [&](absl::StatusOr<Reservation> r) {
      {
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(r.ok() && r->granted);
        if (r.ok()) starts.push_back(r->start);
      }
      if (++answered == kCalls) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(20)), std::future_status::ready);
  ASSERT_EQ(starts.size(), static_cast<std::size_t>(kCalls));
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 0; i + 10 < starts.size(); ++i) {
    EXPECT_GE(starts[i + 10] - starts[i], absl::Milliseconds(1050) - kTolerance) << i;
  }
  for (std::size_t i = 0; i + 5 < starts.size(); ++i) {
    EXPECT_GE(starts[i + 5] - starts[i], absl::Milliseconds(500) - kTolerance) << i;
  }
}

TEST_F(RedisRateLimiterTest, KeysArePrefixedAndExpireOnTheirOwn) {
  RedisRateLimiter limiter(Options(redis_->endpoint()), SystemClock::Get());
  EXPECT_EQ(limiter.RedisKey("acct"), "test:acct:CancelOTAStrategyByJob");
  ASSERT_TRUE(ReserveSync(limiter, "acct", absl::InfiniteFuture())->granted);
  std::unique_ptr<RedisConnection> admin = Admin(*redis_);
  ASSERT_NE(admin, nullptr);
  absl::StatusOr<RedisReply> ttl = admin->Command({"PTTL", "test:acct:CancelOTAStrategyByJob"});
  ASSERT_THAT(ttl, IsOk());
  // One window plus margin after the newest start, which was now.
  EXPECT_GT(ttl->integer, 900);
  EXPECT_LE(ttl->integer, 1051);
  absl::SleepFor(absl::Milliseconds(1200));
  absl::StatusOr<RedisReply> exists =
      admin->Command({"EXISTS", "test:acct:CancelOTAStrategyByJob"});
  ASSERT_THAT(exists, IsOk());
  EXPECT_EQ(exists->integer, 0);
}

TEST_F(RedisRateLimiterTest, ReloadsTheScriptAfterNoscript) {
  RedisRateLimiter limiter(Options(redis_->endpoint()), SystemClock::Get());
  absl::StatusOr<Reservation> first = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  ASSERT_TRUE(first.ok() && first->granted);
  std::unique_ptr<RedisConnection> admin = Admin(*redis_);
  ASSERT_NE(admin, nullptr);
  ASSERT_THAT(admin->Command({"SCRIPT", "FLUSH"}), IsOk());
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Reservation> r = ReserveSync(limiter, "acct", absl::InfiniteFuture());
    ASSERT_THAT(r, IsOk());
    ASSERT_TRUE(r->granted);
  }
  absl::StatusOr<RedisReply> length = admin->Command({"LLEN", "test:acct:CancelOTAStrategyByJob"});
  ASSERT_THAT(length, IsOk());
  EXPECT_EQ(length->integer, 6);  // every reservation counted once, none twice
}

TEST_F(RedisRateLimiterTest, OutageFailsFastAndRecoversWithoutRestart) {
  RedisRateLimiterOptions options = Options(redis_->endpoint());
  options.timeout = absl::Milliseconds(200);
  RedisRateLimiter limiter(options, SystemClock::Get());
  std::mutex mu;
  std::vector<bool> states;
  limiter.WatchConnection([&](bool up, const std::string&) {
    std::lock_guard<std::mutex> lock(mu);
    states.push_back(up);
  });
  ASSERT_TRUE(ReserveSync(limiter, "acct", absl::InfiniteFuture())->granted);

  redis_->Kill();
  const absl::Time killed = absl::Now();
  absl::StatusOr<Reservation> during;
  do {
    during = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  } while (during.ok() && absl::Now() - killed < absl::Seconds(3));
  EXPECT_EQ(during.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(during.status().message(), HasSubstr("Redis"));
  // Noticed within a heartbeat and a timeout, and answered at once from then on.
  EXPECT_LT(absl::Now() - killed, absl::Seconds(1));
  const absl::Time asked = absl::Now();
  EXPECT_THAT(ReserveSync(limiter, "acct", absl::InfiniteFuture()), Not(IsOk()));
  EXPECT_LT(absl::Now() - asked, absl::Milliseconds(50));

  ASSERT_THAT(redis_->Restart(), IsOk());
  absl::StatusOr<Reservation> after = ReserveWhenBack(limiter, "acct", absl::InfiniteFuture());
  ASSERT_THAT(after, IsOk());
  EXPECT_TRUE(after->granted);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(states, ::testing::ElementsAre(true, false, true));
}

TEST_F(RedisRateLimiterTest, RestartedEmptyRedisDoesNotGrantAFreshBurstOnTopOfPendingSlots) {
  RedisRateLimiter limiter(Options(redis_->endpoint()), SystemClock::Get());
  absl::Time newest;
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<Reservation> r = ReserveSync(limiter, "acct", absl::InfiniteFuture());
    ASSERT_TRUE(r.ok() && r->granted);
    newest = r->start;  // ~2.1s ahead: 20 slots are still pending
  }
  ASSERT_THAT(redis_->Restart(), IsOk());
  absl::StatusOr<Reservation> next = ReserveWhenBack(limiter, "acct", absl::InfiniteFuture());
  ASSERT_THAT(next, IsOk());
  ASSERT_TRUE(next->granted);
  // A full window of slots at `newest` is assumed, so the next one is a window + margin later.
  EXPECT_GE(next->start - newest, absl::Milliseconds(1050) - kTolerance);
  EXPECT_LE(next->start - newest, absl::Milliseconds(1050) + kTolerance);

  // A replica that knew nothing is placed after that too: the knowledge now lives in Redis.
  RedisRateLimiter other(Options(redis_->endpoint()), SystemClock::Get());
  absl::StatusOr<Reservation> theirs = ReserveSync(other, "acct", absl::InfiniteFuture());
  ASSERT_TRUE(theirs.ok() && theirs->granted);
  EXPECT_GE(theirs->start, next->start - kTolerance);
}

TEST_F(RedisRateLimiterTest, FallbackGrantsAreHonouredOnceRedisIsBack) {
  RedisRateLimiter limiter(Options(redis_->endpoint()), SystemClock::Get());
  const absl::Time local_slot = absl::Now() + absl::Seconds(2);
  limiter.RecordFallbackGrant("acct", local_slot);
  absl::StatusOr<Reservation> r = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  ASSERT_TRUE(r.ok() && r->granted);
  EXPECT_GE(r->start - local_slot, absl::Milliseconds(1050) - kTolerance);
  // Fallback grants are not mistaken for shared ones.
  std::optional<absl::Time> known = limiter.NewestKnownStart("acct");
  ASSERT_TRUE(known.has_value());
  EXPECT_LE(absl::AbsDuration(*known - r->start), kTolerance);
  EXPECT_FALSE(limiter.NewestKnownStart("never-seen").has_value());
}

// Other replicas' fallbacks may go on granting until they reconnect too; their grants reach Redis
// only then. A replica that served from its fallback therefore counts them as made up to a
// reconnect delay, a connect and a heartbeat after it is back: the next shared slot is a window
// (+margin) after that. (The e2e test of a Redis restart under three replicas found 11 calls in
// one second without it.) A replica that granted nothing from a fallback (fail-closed) is not held.
TEST_F(RedisRateLimiterTest, AfterAnOutageWithFallbackGrantsSharedSlotsWaitForOtherFallbacks) {
  RedisRateLimiterOptions options = Options(redis_->endpoint());
  options.timeout = absl::Milliseconds(200);
  options.heartbeat = absl::Milliseconds(100);
  options.reconnect_max = absl::Milliseconds(300);
  RedisRateLimiter served_locally(options, SystemClock::Get());
  RedisRateLimiter fail_closed(options, SystemClock::Get());
  ASSERT_TRUE(ReserveSync(served_locally, "acct", absl::InfiniteFuture())->granted);
  ASSERT_TRUE(ReserveSync(fail_closed, "other", absl::InfiniteFuture())->granted);

  redis_->Kill();
  absl::StatusOr<Reservation> during;
  do {
    during = ReserveSync(served_locally, "acct", absl::InfiniteFuture());
  } while (during.ok());
  served_locally.RecordFallbackGrant("acct", absl::Now());
  const absl::Time restarted = absl::Now();
  ASSERT_THAT(redis_->Restart(), IsOk());

  absl::StatusOr<Reservation> next =
      ReserveWhenBack(served_locally, "acct", absl::InfiniteFuture());
  ASSERT_TRUE(next.ok() && next->granted);
  EXPECT_GE(next->start - restarted, absl::Milliseconds(300 + 200 + 100 + 1050) - kTolerance);

  absl::StatusOr<Reservation> closed =
      ReserveWhenBack(fail_closed, "other", absl::InfiniteFuture());
  ASSERT_TRUE(closed.ok() && closed->granted);
  // Held only by the restart rule (a window after its own last slot), not by others' fallbacks.
  EXPECT_LT(closed->start, next->start - absl::Milliseconds(300));
}

TEST_F(RedisRateLimiterTest, LearnsOtherReplicasGrantsWhileIdle) {
  RedisRateLimiter watcher(Options(redis_->endpoint()), SystemClock::Get());
  RedisRateLimiter busy(Options(redis_->endpoint()), SystemClock::Get());
  ASSERT_TRUE(ReserveSync(watcher, "acct", absl::InfiniteFuture())->granted);
  absl::Time newest;
  for (int i = 0; i < 15; ++i) newest = ReserveSync(busy, "acct", absl::InfiniteFuture())->start;
  absl::SleepFor(absl::Milliseconds(300));  // a few heartbeats
  std::optional<absl::Time> known = watcher.NewestKnownStart("acct");
  ASSERT_TRUE(known.has_value());
  EXPECT_LE(absl::AbsDuration(*known - newest), kTolerance);
}

TEST_F(RedisRateLimiterTest, APauseHoldsEveryReplicasSlotsAndExpiresByItself) {
  // Local clocks are fake and frozen: the pause travels as a duration and comes back as a wait
  // from Redis's now, so each replica sees it end 1s after its own now, whatever its clock says.
  FakeClock throttled_clock(absl::FromUnixSeconds(1700000000));
  FakeClock other_clock(absl::FromUnixSeconds(1800000000));
  RedisRateLimiter throttled(Options(redis_->endpoint()), throttled_clock);
  RedisRateLimiter other(Options(redis_->endpoint()), other_clock);
  ASSERT_TRUE(ReserveSync(throttled, "acct", absl::InfiniteFuture())->granted);
  throttled.PauseUntil("acct", throttled_clock.Now() + absl::Seconds(1));
  // An earlier end does not shorten it.
  throttled.PauseUntil("acct", throttled_clock.Now() + absl::Milliseconds(100));

  absl::StatusOr<Reservation> refused =
      ReserveSync(throttled, "acct", throttled_clock.Now() + absl::Milliseconds(500));
  ASSERT_THAT(refused, IsOk());
  EXPECT_FALSE(refused->granted);
  EXPECT_GT(refused->retry_after, absl::Milliseconds(1000) - kTolerance);
  absl::StatusOr<Reservation> r = ReserveSync(other, "acct", absl::InfiniteFuture());
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->granted);
  EXPECT_LE(absl::AbsDuration(r->start - (other_clock.Now() + absl::Seconds(1))), kTolerance);
  // Another budget is not paused.
  r = ReserveSync(other, "other-acct", absl::InfiniteFuture());
  ASSERT_TRUE(r.ok() && r->granted);
  EXPECT_LE(absl::AbsDuration(r->start - other_clock.Now()), kTolerance);

  std::unique_ptr<RedisConnection> admin = Admin(*redis_);
  ASSERT_NE(admin, nullptr);
  absl::StatusOr<RedisReply> ttl = admin->Command({"PTTL", throttled.PauseKey("acct")});
  ASSERT_THAT(ttl, IsOk());
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 1000);
}

class RedisRateLimiterTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisTestServer>> redis =
        RedisTestServer::Start(RedisTestServer::Security::kTls);
    ASSERT_THAT(redis, IsOk());
    redis_ = *std::move(redis);
  }
  std::unique_ptr<RedisTestServer> redis_;
};

TEST_F(RedisRateLimiterTlsTest, ReservesOverTlsAndRecoversAfterAnOutage) {
  RedisRateLimiterOptions options = Options(redis_->endpoint());
  options.timeout = absl::Milliseconds(200);
  RedisRateLimiter limiter(options, SystemClock::Get());
  // The same rules as over plain TCP: a burst of 5, then the 6th half a window after the first.
  absl::Time first;
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<Reservation> r = ReserveSync(limiter, "acct", absl::InfiniteFuture());
    ASSERT_THAT(r, IsOk());
    ASSERT_TRUE(r->granted);
    if (i == 0) first = r->start;
    if (i == 5) {
      EXPECT_GE(r->start - first, absl::Milliseconds(500) - kTolerance);
    }
  }
  std::unique_ptr<RedisConnection> admin = Admin(*redis_);
  ASSERT_NE(admin, nullptr);
  absl::StatusOr<RedisReply> keys = admin->Command({"KEYS", "test:acct*"});
  ASSERT_THAT(keys, IsOk());
  EXPECT_FALSE(keys->elements.empty());
  admin.reset();

  // A write to the dead TLS connection must fail (not SIGPIPE the test), then reconnect.
  redis_->Kill();
  absl::StatusOr<Reservation> during;
  const absl::Time killed = absl::Now();
  do {
    during = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  } while (during.ok() && absl::Now() - killed < absl::Seconds(3));
  EXPECT_EQ(during.status().code(), absl::StatusCode::kUnavailable);
  ASSERT_THAT(redis_->Restart(), IsOk());
  absl::StatusOr<Reservation> after = ReserveWhenBack(limiter, "acct", absl::InfiniteFuture());
  ASSERT_THAT(after, IsOk());
  EXPECT_TRUE(after->granted);
}

TEST_F(RedisRateLimiterTlsTest, UntrustedCertificateFailsClosedAndSaysWhy) {
  RedisEndpoint endpoint = redis_->endpoint();
  endpoint.tls_options.ca_file = redis_->other_ca_file();
  RedisRateLimiter limiter(Options(endpoint), SystemClock::Get());
  absl::StatusOr<Reservation> r = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  ASSERT_THAT(r, Not(IsOk()));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("rediss://127.0.0.1"));
  EXPECT_THAT(r.status().message(), HasSubstr("certificate rejected"));
}

TEST_F(RedisRateLimiterTlsTest, CertificateForAnotherNameIsRefused) {
  RedisEndpoint endpoint = redis_->endpoint();
  endpoint.tls_options.server_name = "redis.example.com";
  RedisRateLimiter limiter(Options(endpoint), SystemClock::Get());
  absl::StatusOr<Reservation> r = ReserveSync(limiter, "acct", absl::InfiniteFuture());
  ASSERT_THAT(r, Not(IsOk()));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("hostname mismatch"));
}

}  // namespace
}  // namespace ota
