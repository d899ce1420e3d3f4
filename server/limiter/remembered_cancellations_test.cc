#include "server/limiter/remembered_cancellations.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"

namespace ota {
namespace {

using ::ota::testing::FakeClock;

std::optional<RememberedCancellation> LookupNow(RememberedCancellations& memory,
                                                const std::string& key) {
  std::optional<RememberedCancellation> seen;
  bool called = false;
  memory.Lookup(key, [&](std::optional<RememberedCancellation> found) {
    called = true;
    seen = std::move(found);
  });
  EXPECT_TRUE(called) << "the local store answers before Lookup returns";
  return seen;
}

TEST(RememberedCancellationKeyTest, NamesAccountInstanceAndJob) {
  EXPECT_EQ(RememberedCancellationKey("acct", "iot-1", "J1"), "acct|iot-1|J1");
  EXPECT_NE(RememberedCancellationKey("acct", "", "J1"),
            RememberedCancellationKey("acct", "x", "J1"));
}

TEST(LocalRememberedCancellationsTest, RemembersTheOriginalRequestIdUntilTheTtlPasses) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  LocalRememberedCancellations memory({.ttl = absl::Hours(24), .capacity = 10}, clock);
  EXPECT_FALSE(LookupNow(memory, "k").has_value());
  memory.Remember("k", {.request_id = "REQ-1"}, nullptr);
  clock.Advance(absl::Hours(24) - absl::Seconds(1));
  std::optional<RememberedCancellation> found = LookupNow(memory, "k");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->request_id, "REQ-1");
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(LookupNow(memory, "k").has_value()) << "expired exactly at the TTL";
  EXPECT_EQ(memory.size(), 0u) << "an expired entry found on lookup is dropped";
}

TEST(LocalRememberedCancellationsTest, DropsTheLeastRecentlyUsedBeyondItsCapacity) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  LocalRememberedCancellations memory({.ttl = absl::Hours(1), .capacity = 3}, clock);
  memory.Remember("a", {.request_id = "A"}, nullptr);
  memory.Remember("b", {.request_id = "B"}, nullptr);
  memory.Remember("c", {.request_id = "C"}, nullptr);
  ASSERT_TRUE(LookupNow(memory, "a").has_value());     // a is now the most recently used
  memory.Remember("d", {.request_id = "D"}, nullptr);  // b goes
  EXPECT_EQ(memory.size(), 3u);
  EXPECT_FALSE(LookupNow(memory, "b").has_value());
  EXPECT_TRUE(LookupNow(memory, "a").has_value());
  EXPECT_TRUE(LookupNow(memory, "c").has_value());
  EXPECT_TRUE(LookupNow(memory, "d").has_value());
  for (int i = 0; i < 100; ++i) memory.Remember(std::to_string(i), {.request_id = "X"}, nullptr);
  EXPECT_EQ(memory.size(), 3u) << "bounded, however many batches are cancelled";
}

TEST(LocalRememberedCancellationsTest, RememberingAgainRefreshesTheEntry) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  LocalRememberedCancellations memory({.ttl = absl::Minutes(10), .capacity = 10}, clock);
  memory.Remember("k", {.request_id = "OLD"}, nullptr);
  clock.Advance(absl::Minutes(9));
  memory.Remember("k", {.request_id = "NEW"}, nullptr);
  clock.Advance(absl::Minutes(9));
  std::optional<RememberedCancellation> found = LookupNow(memory, "k");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->request_id, "NEW");
  EXPECT_EQ(memory.size(), 1u);
}

TEST(LocalRememberedCancellationsTest, ZeroTtlOrCapacityRemembersNothing) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  LocalRememberedCancellations no_ttl({.ttl = absl::ZeroDuration(), .capacity = 10}, clock);
  no_ttl.Remember("k", {.request_id = "R"}, nullptr);
  EXPECT_FALSE(LookupNow(no_ttl, "k").has_value());
  LocalRememberedCancellations no_room({.ttl = absl::Hours(1), .capacity = 0}, clock);
  no_room.Remember("k", {.request_id = "R"}, nullptr);
  EXPECT_FALSE(LookupNow(no_room, "k").has_value());
}

}  // namespace
}  // namespace ota
