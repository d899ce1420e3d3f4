// Against a real redis-server: sharing between replicas, expiry done by Redis itself, and what a
// lookup answers while Redis is down.
#include "server/limiter/redis/redis_remembered_cancellations.h"

#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/testing/redis_test_server.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::ota::testing::RedisTestServer;

std::optional<RememberedCancellation> LookupSync(RememberedCancellations& memory,
                                                 const std::string& key) {
  std::promise<std::optional<RememberedCancellation>> done;
  memory.Lookup(
      key, [&](std::optional<RememberedCancellation> found) { done.set_value(std::move(found)); });
  return done.get_future().get();
}

RedisRememberedCancellationsOptions Options(const RedisEndpoint& endpoint,
                                            absl::Duration ttl = absl::Hours(24)) {
  return {.endpoint = endpoint,
          .key_prefix = "test:cancelled:",
          .remember = {.ttl = ttl, .capacity = 1000},
          .timeout = absl::Milliseconds(250)};
}

// Remember is queued; a lookup on the same store is queued behind it, so it sees the write.
TEST(RedisRememberedCancellationsTest, ReplicasShareWhatEachRemembers) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis.status(), IsOk());
  RedisRememberedCancellations replica_a(Options((*redis)->endpoint()), SystemClock::Get());
  RedisRememberedCancellations replica_b(Options((*redis)->endpoint()), SystemClock::Get());
  replica_a.Remember("acct||J1", {.request_id = "REQ-A"}, nullptr);
  ASSERT_TRUE(LookupSync(replica_a, "acct||J1").has_value());  // the SET has been written
  std::optional<RememberedCancellation> seen_by_b = LookupSync(replica_b, "acct||J1");
  ASSERT_TRUE(seen_by_b.has_value());
  EXPECT_EQ(seen_by_b->request_id, "REQ-A");
  EXPECT_FALSE(LookupSync(replica_b, "acct||J2").has_value());
}

TEST(RedisRememberedCancellationsTest, KeysExpireInRedisByThemselves) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis.status(), IsOk());
  RedisRememberedCancellations memory(Options((*redis)->endpoint(), absl::Hours(24)),
                                      SystemClock::Get());
  memory.Remember("acct||J1", {.request_id = "REQ"}, nullptr);
  ASSERT_TRUE(LookupSync(memory, "acct||J1").has_value());
  absl::StatusOr<std::unique_ptr<RedisConnection>> conn =
      RedisConnection::Open((*redis)->endpoint(), absl::Seconds(1));
  ASSERT_THAT(conn.status(), IsOk());
  absl::StatusOr<RedisReply> ttl = (*conn)->Command({"PTTL", "test:cancelled:acct||J1"});
  ASSERT_THAT(ttl.status(), IsOk());
  EXPECT_GT(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(24) - absl::Minutes(1)));
  EXPECT_LE(ttl->integer, absl::ToInt64Milliseconds(absl::Hours(24)));

  // A short time to remember: gone from Redis (and so for every other replica) once it passed.
  RedisRememberedCancellations brief(Options((*redis)->endpoint(), absl::Milliseconds(300)),
                                     SystemClock::Get());
  RedisRememberedCancellations other(Options((*redis)->endpoint(), absl::Milliseconds(300)),
                                     SystemClock::Get());
  brief.Remember("acct||J2", {.request_id = "REQ-2"}, nullptr);
  ASSERT_TRUE(LookupSync(brief, "acct||J2").has_value());
  ASSERT_TRUE(LookupSync(other, "acct||J2").has_value());
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_FALSE(LookupSync(other, "acct||J2").has_value());
}

TEST(RedisRememberedCancellationsTest, RedisDownFallsBackToWhatThisReplicaRemembers) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis.status(), IsOk());
  RedisRememberedCancellations memory(Options((*redis)->endpoint()), SystemClock::Get());
  memory.Remember("acct||BEFORE", {.request_id = "REQ-BEFORE"}, nullptr);
  ASSERT_TRUE(LookupSync(memory, "acct||BEFORE").has_value());
  (*redis)->Kill();

  const absl::Time asked = absl::Now();
  std::optional<RememberedCancellation> before = LookupSync(memory, "acct||BEFORE");
  ASSERT_TRUE(before.has_value()) << "kept locally as well";
  EXPECT_EQ(before->request_id, "REQ-BEFORE");
  memory.Remember("acct||DURING", {.request_id = "REQ-DURING"}, nullptr);
  std::optional<RememberedCancellation> during = LookupSync(memory, "acct||DURING");
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(during->request_id, "REQ-DURING");
  EXPECT_FALSE(LookupSync(memory, "acct||NEVER").has_value()) << "a miss, never a wrong answer";
  EXPECT_LT(absl::Now() - asked, absl::Seconds(2)) << "bounded by the Redis timeout";

  // Back (empty, as after a crash without persistence): shared again once reconnected.
  ASSERT_THAT((*redis)->Restart(), IsOk());
  absl::SleepFor(absl::Milliseconds(1100));  // past the reconnect pause
  memory.Remember("acct||AFTER", {.request_id = "REQ-AFTER"}, nullptr);
  ASSERT_TRUE(LookupSync(memory, "acct||AFTER").has_value());
  RedisRememberedCancellations other(Options((*redis)->endpoint()), SystemClock::Get());
  std::optional<RememberedCancellation> shared = LookupSync(other, "acct||AFTER");
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(shared->request_id, "REQ-AFTER");
}

TEST(RedisRememberedCancellationsTest, WrittenRunsOnceEveryReplicaCanSeeIt) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis.status(), IsOk());
  RedisRememberedCancellations replica_a(Options((*redis)->endpoint()), SystemClock::Get());
  RedisRememberedCancellations replica_b(Options((*redis)->endpoint()), SystemClock::Get());
  for (int i = 0; i < 20; ++i) {
    const std::string key = "acct||W" + std::to_string(i);
    std::promise<void> written;
    replica_a.Remember(key, {.request_id = "REQ"}, [&] { written.set_value(); });
    written.get_future().wait();
    EXPECT_TRUE(LookupSync(replica_b, key).has_value()) << key;
  }
}

}  // namespace
}  // namespace ota
