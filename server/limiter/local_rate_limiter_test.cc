#include "server/limiter/local_rate_limiter.h"

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::ota::testing::FakeClock;

using ::testing::HasSubstr;

constexpr absl::Time kT0 = absl::FromUnixSeconds(1700000000);

// The largest number of `times` (any order) that fall into one half-open span [t, t + span).
int MaxInAnySpan(std::vector<absl::Time> times, absl::Duration span) {
  std::sort(times.begin(), times.end());
  int best = 0;
  std::size_t first = 0;
  for (std::size_t last = 0; last < times.size(); ++last) {
    while (times[last] - times[first] >= span) ++first;
    best = std::max(best, static_cast<int>(last - first + 1));
  }
  return best;
}

TEST(MaxInAnySpanTest, CountsHalfOpenSpans) {
  const std::vector<absl::Time> times = {kT0, kT0 + absl::Milliseconds(999), kT0 + absl::Seconds(1),
                                         kT0 + absl::Milliseconds(1500)};
  EXPECT_EQ(MaxInAnySpan(times, absl::Seconds(1)), 3);
  EXPECT_EQ(MaxInAnySpan(times, absl::Milliseconds(1001)), 3);
  EXPECT_EQ(MaxInAnySpan(times, absl::Milliseconds(1)), 1);
  EXPECT_EQ(MaxInAnySpan(times, absl::Seconds(2)), 4);
}

TEST(LocalRateLimiterTest, BurstOfThirtyGetsExactSlots) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter(
      {.limit = 10, .window = absl::Seconds(1), .margin = absl::Milliseconds(50), .burst = 5},
      clock);
  // Five back to back, the next five half a window later (burst rule), then each group of five
  // waits for the group ten slots back plus window + margin.
  const std::vector<int> expected_ms = {0,    0,    0,    0,    0,    500,  500,  500,  500,  500,
                                        1050, 1050, 1050, 1050, 1050, 1550, 1550, 1550, 1550, 1550,
                                        2100, 2100, 2100, 2100, 2100, 2600, 2600, 2600, 2600, 2600};
  for (std::size_t i = 0; i < expected_ms.size(); ++i) {
    const Reservation r = limiter.ReserveNow("acct", absl::InfiniteFuture());
    ASSERT_TRUE(r.granted) << i;
    EXPECT_EQ(r.start - kT0, absl::Milliseconds(expected_ms[i])) << "slot " << i;
  }
}

TEST(LocalRateLimiterTest, BurstEqualToLimitSendsWholeWindowAtOnce) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter(
      {.limit = 4, .window = absl::Seconds(1), .margin = absl::ZeroDuration(), .burst = 4}, clock);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(limiter.ReserveNow("k", absl::InfiniteFuture()).start, kT0) << i;
  }
  EXPECT_EQ(limiter.ReserveNow("k", absl::InfiniteFuture()).start, kT0 + absl::Seconds(1));
}

TEST(LocalRateLimiterTest, QuietBudgetGrantsImmediately) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.ReserveNow("k", absl::InfiniteFuture()).granted);
  clock.Advance(absl::Seconds(5));
  const Reservation r = limiter.ReserveNow("k", clock.Now());
  EXPECT_TRUE(r.granted);
  EXPECT_EQ(r.start, clock.Now());
}

struct ArrivalPattern {
  RateLimitOptions options;
  std::uint32_t seed;
};

void PrintTo(const ArrivalPattern& p, std::ostream* os) {
  *os << p.options.limit << " per " << p.options.window << " +" << p.options.margin << " burst "
      << p.options.burst << " seed " << p.seed;
}

class WindowRuleTest : public ::testing::TestWithParam<ArrivalPattern> {};

// Random arrivals (quiet stretches, spikes, deadlines from "already late" to "patient"): the
// granted starts never put more than `limit` calls in any window, even after each start is
// delayed by up to `margin` of jitter on its way to Alibaba, and never more than `burst` in a
// burst span.
TEST_P(WindowRuleTest, NoWindowHoldsMoreThanLimit) {
  const RateLimitOptions& options = GetParam().options;
  std::mt19937 rng(GetParam().seed);
  FakeClock clock(kT0);
  LocalRateLimiter limiter(options, clock);

  std::vector<absl::Time> starts;
  absl::Time previous_start = absl::InfinitePast();
  int refused = 0;
  for (int i = 0; i < 5000; ++i) {
    // Mostly spikes (no time between arrivals), sometimes gaps up to two windows.
    const int gap_kind = std::uniform_int_distribution<int>(0, 9)(rng);
    if (gap_kind >= 6) {
      // Gaps scale with the slot spacing so demand is about twice the capacity.
      const auto max_gap_us = absl::ToInt64Microseconds(options.window) * 5 *
                              (gap_kind == 9 ? 2 : 1) / (std::int64_t{2} * options.limit);
      clock.Advance(
          absl::Microseconds(std::uniform_int_distribution<std::int64_t>(0, max_gap_us)(rng)));
    }
    const absl::Time now = clock.Now();
    const absl::Duration patience =
        absl::Milliseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
    const absl::Time latest = now + patience;
    const Reservation r = limiter.ReserveNow("acct", latest);
    if (!r.granted) {
      ++refused;
      EXPECT_GT(r.retry_after, patience);
      continue;
    }
    EXPECT_GE(r.start, now);
    EXPECT_LE(r.start, latest);
    EXPECT_GE(r.start, previous_start) << "FIFO order broken at arrival " << i;
    previous_start = r.start;
    starts.push_back(r.start);
  }
  ASSERT_GT(refused, 0) << "pattern too gentle to exercise refusals";
  ASSERT_GT(starts.size(), 500u);

  EXPECT_LE(MaxInAnySpan(starts, options.window), options.limit);
  EXPECT_LE(MaxInAnySpan(starts, options.burst * options.window / options.limit), options.burst);

  std::vector<absl::Time> delivered = starts;
  std::uniform_int_distribution<std::int64_t> jitter_ns(0,
                                                        absl::ToInt64Nanoseconds(options.margin));
  for (absl::Time& t : delivered) t += absl::Nanoseconds(jitter_ns(rng));
  EXPECT_LE(MaxInAnySpan(delivered, options.window), options.limit);

  // Worst case jitter: alternate groups delayed fully and not at all.
  std::vector<absl::Time> skewed = starts;
  for (std::size_t i = 0; i < skewed.size(); ++i) {
    if ((i / static_cast<std::size_t>(options.limit)) % 2 == 0) skewed[i] += options.margin;
  }
  EXPECT_LE(MaxInAnySpan(skewed, options.window), options.limit);
}

INSTANTIATE_TEST_SUITE_P(
    Patterns, WindowRuleTest,
    ::testing::Values(
        ArrivalPattern{
            {.limit = 10, .window = absl::Seconds(1), .margin = absl::Milliseconds(50), .burst = 5},
            1},
        ArrivalPattern{
            {.limit = 10, .window = absl::Seconds(1), .margin = absl::Milliseconds(50), .burst = 5},
            2},
        ArrivalPattern{{.limit = 10,
                        .window = absl::Seconds(1),
                        .margin = absl::Milliseconds(50),
                        .burst = 10},
                       3},
        ArrivalPattern{{.limit = 3,
                        .window = absl::Milliseconds(700),
                        .margin = absl::Milliseconds(120),
                        .burst = 1},
                       4},
        ArrivalPattern{{.limit = 100,
                        .window = absl::Seconds(1),
                        .margin = absl::Milliseconds(5),
                        .burst = 20},
                       5}));

TEST(LocalRateLimiterTest, SustainedRateUnderSaturationIsAtLeastNinetyPercent) {
  FakeClock clock(kT0);
  const RateLimitOptions options{};  // 10 per 1s, 50ms margin, burst 5
  LocalRateLimiter limiter(options, clock);
  // Demand of 100 calls/s for 60 s, each willing to wait 2 s.
  int granted = 0;
  absl::Time last_start = kT0;
  for (int step = 0; step < 6000; ++step) {
    const Reservation r = limiter.ReserveNow("acct", clock.Now() + absl::Seconds(2));
    if (r.granted) {
      ++granted;
      last_start = r.start;
    }
    clock.Advance(absl::Milliseconds(10));
  }
  const double seconds = absl::ToDoubleSeconds(last_start - kT0);
  ASSERT_GT(seconds, 55.0);
  const double rate = granted / seconds;
  EXPECT_GE(rate, 0.9 * options.limit);
  // And never more than the window rule allows: `limit` per window, plus one window's worth.
  EXPECT_LE(granted, options.limit * (seconds + 1.0));
}

TEST(LocalRateLimiterTest, RefusalReportsWaitAndConsumesNothing) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(limiter.ReserveNow("acct", absl::InfiniteFuture()).granted);

  // The 11th slot is at 1050ms (first slot + window + margin).
  Reservation r = limiter.ReserveNow("acct", kT0 + absl::Seconds(1));
  EXPECT_FALSE(r.granted);
  EXPECT_EQ(r.retry_after, absl::Milliseconds(1050));

  clock.Advance(absl::Milliseconds(300));
  r = limiter.ReserveNow("acct", clock.Now());
  EXPECT_FALSE(r.granted);
  EXPECT_EQ(r.retry_after, absl::Milliseconds(750));

  // Neither refusal took the slot: the next patient caller gets exactly 1050ms.
  r = limiter.ReserveNow("acct", kT0 + absl::Milliseconds(1050));
  EXPECT_TRUE(r.granted);
  EXPECT_EQ(r.start, kT0 + absl::Milliseconds(1050));
}

TEST(LocalRateLimiterTest, RefusalOnUnknownKeyCreatesNoBudget) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  const Reservation r = limiter.ReserveNow("late", kT0 - absl::Milliseconds(1));
  EXPECT_FALSE(r.granted);
  EXPECT_EQ(r.retry_after, absl::ZeroDuration());
  EXPECT_EQ(limiter.TrackedKeys(), 0u);
}

TEST(LocalRateLimiterTest, WaitersAreServedInArrivalOrder) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  std::vector<absl::Time> starts;
  for (int i = 0; i < 200; ++i) {
    // Every third caller is impatient and must be refused without disturbing the queue.
    const bool impatient = i % 3 == 2 && i > 10;
    const Reservation r = limiter.ReserveNow(
        "acct", impatient ? clock.Now() + absl::Milliseconds(10) : absl::InfiniteFuture());
    if (impatient) {
      EXPECT_FALSE(r.granted) << i;
    } else {
      ASSERT_TRUE(r.granted) << i;
      starts.push_back(r.start);
    }
    clock.Advance(absl::Milliseconds(1));
  }
  EXPECT_TRUE(std::is_sorted(starts.begin(), starts.end()));
  // Queue of patient callers drains at the full rate: 10 per 1050ms.
  EXPECT_EQ(MaxInAnySpan(starts, absl::Milliseconds(1050)), 10);
}

TEST(LocalRateLimiterTest, KeysHaveIndependentBudgets) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(limiter.ReserveNow("a", absl::InfiniteFuture()).granted);
  EXPECT_FALSE(limiter.ReserveNow("a", clock.Now()).granted);
  const Reservation b = limiter.ReserveNow("b", clock.Now());
  EXPECT_TRUE(b.granted);
  EXPECT_EQ(b.start, kT0);
}

TEST(LocalRateLimiterTest, IdleBudgetsAreDroppedButBusyOnesKept) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  // A busy key books its budget well into the future.
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(limiter.ReserveNow("hot", absl::InfiniteFuture()).granted);

  for (int i = 0; i < 50000; ++i) {
    ASSERT_TRUE(limiter.ReserveNow("key-" + std::to_string(i), clock.Now()).granted);
    if (i % 1000 == 999) clock.Advance(absl::Seconds(2));
    if (i == 3500) {
      // 6 s in, several sweeps later: "hot" still holds its bookings up to about 10 s.
      EXPECT_FALSE(limiter.ReserveNow("hot", clock.Now()).granted);
    }
  }
  // 50,000 keys came and went, 1,000 per 2 s. Only the current batch is live; between sweeps
  // the map may grow by as many budgets as were live, plus 1024.
  EXPECT_LE(limiter.TrackedKeys(), 2 * 1000u + 1024u + 1u);

  // "hot" booked 100 slots (about 10 s ahead) long ago and is free again.
  const Reservation hot = limiter.ReserveNow("hot", clock.Now());
  EXPECT_TRUE(hot.granted);

  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(limiter.ReserveNow("future", absl::InfiniteFuture()).granted);
  for (int i = 0; i < 5000; ++i)
    ASSERT_TRUE(limiter.ReserveNow("x-" + std::to_string(i), clock.Now()).granted);
  clock.Advance(absl::Milliseconds(600));
  for (int i = 0; i < 5000; ++i)
    ASSERT_TRUE(limiter.ReserveNow("y-" + std::to_string(i), clock.Now()).granted);
  const Reservation future = limiter.ReserveNow("future", clock.Now());
  EXPECT_FALSE(future.granted);
  EXPECT_EQ(future.retry_after, absl::Milliseconds(450));
}

TEST(LocalRateLimiterTest, ReserveCallsBackOnceWithTheDecision) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter(
      {.limit = 1, .window = absl::Seconds(1), .margin = absl::ZeroDuration(), .burst = 1}, clock);
  int calls = 0;
  limiter.Reserve("k", absl::InfiniteFuture(), [&](absl::StatusOr<Reservation> r) {
    ++calls;
    ASSERT_THAT(r, IsOk());
    EXPECT_TRUE(r->granted);
    EXPECT_EQ(r->start, kT0);
  });
  limiter.Reserve("k", kT0, [&](absl::StatusOr<Reservation> r) {
    ++calls;
    ASSERT_THAT(r, IsOk());
    EXPECT_FALSE(r->granted);
    EXPECT_EQ(r->retry_after, absl::Seconds(1));
  });
  EXPECT_EQ(calls, 2);
}

TEST(LocalRateLimiterTest, ConcurrentCallersShareOneHonestBudget) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 250;
  std::vector<std::vector<absl::Time>> per_thread(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        limiter.Reserve("acct", absl::InfiniteFuture(), [&](absl::StatusOr<Reservation> r) {
          if (r.ok() && r->granted) per_thread[static_cast<std::size_t>(t)].push_back(r->start);
        });
        if (i % 50 == 0) clock.Advance(absl::Milliseconds(1));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<absl::Time> all;
  for (const auto& v : per_thread) {
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_LE(MaxInAnySpan(all, absl::Seconds(1)), 10);
  EXPECT_LE(MaxInAnySpan(all, absl::Milliseconds(500)), 5);
}

TEST(ValidateRateLimitOptionsTest, DefaultsAreValid) {
  EXPECT_THAT(ValidateRateLimitOptions({}), IsOk());
  EXPECT_THAT(ValidateRateLimitOptions({.limit = 1, .burst = 1}), IsOk());
}

TEST(ValidateRateLimitOptionsTest, NamesTheBadField) {
  struct Case {
    RateLimitOptions options;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{.limit = 0, .burst = 1}, "at least 1 call per window, got 0"},
      {{.limit = -3, .burst = 1}, "got -3"},
      {{.window = absl::ZeroDuration()}, "window must be positive, got 0"},
      {{.window = absl::Seconds(-1)}, "window must be positive, got -1s"},
      {{.margin = absl::Milliseconds(-5)}, "margin must not be negative, got -5ms"},
      {{.limit = 10, .burst = 0}, "burst must be between 1 and the limit (10), got 0"},
      {{.limit = 10, .burst = 11}, "burst must be between 1 and the limit (10), got 11"},
  };
  for (const Case& c : cases) {
    const absl::Status status = ValidateRateLimitOptions(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
  }
}

TEST(LocalRateLimiterTest, PauseHoldsEverySlotUntilItEnds) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  ASSERT_TRUE(limiter.ReserveNow("acct", absl::InfiniteFuture()).granted);
  limiter.PauseUntil("acct", kT0 + absl::Seconds(2));
  // An earlier pause does not shorten the one in force.
  limiter.PauseUntil("acct", kT0 + absl::Milliseconds(500));

  // A caller that cannot wait past the pause is refused and told when the budget resumes.
  Reservation r = limiter.ReserveNow("acct", kT0 + absl::Seconds(1));
  EXPECT_FALSE(r.granted);
  EXPECT_EQ(r.retry_after, absl::Seconds(2));
  // Patient callers are placed from the pause's end on, by the usual rules (burst 5 per 500ms).
  std::vector<absl::Time> starts;
  for (int i = 0; i < 6; ++i) {
    r = limiter.ReserveNow("acct", absl::InfiniteFuture());
    ASSERT_TRUE(r.granted);
    starts.push_back(r.start);
  }
  EXPECT_EQ(starts.front(), kT0 + absl::Seconds(2));
  EXPECT_EQ(starts[3], kT0 + absl::Seconds(2));
  EXPECT_EQ(starts.back(), kT0 + absl::Milliseconds(2500));
  // Other budgets are not paused.
  EXPECT_EQ(limiter.ReserveNow("other", clock.Now()).start, kT0);
}

TEST(LocalRateLimiterTest, PauseOfAnUnseenKeyHoldsItsFirstSlotAndIsSweptAfterwards) {
  FakeClock clock(kT0);
  LocalRateLimiter limiter({}, clock);
  limiter.PauseUntil("fresh", kT0 + absl::Milliseconds(700));
  EXPECT_EQ(limiter.TrackedKeys(), 1u);
  const Reservation r = limiter.ReserveNow("fresh", absl::InfiniteFuture());
  ASSERT_TRUE(r.granted);
  EXPECT_EQ(r.start, kT0 + absl::Milliseconds(700));

  // A pause alone, with no slot granted, is kept until it is over, then swept like idle budgets.
  limiter.PauseUntil("paused-only", kT0 + absl::Seconds(5));
  clock.Advance(absl::Seconds(3));
  for (int i = 0; i < 1100; ++i) (void)limiter.ReserveNow(absl::StrCat("k", i % 2), clock.Now());
  EXPECT_EQ(limiter.ReserveNow("paused-only", clock.Now()).retry_after, absl::Seconds(2));
  clock.Advance(absl::Seconds(3));
  for (int i = 0; i < 1100; ++i) (void)limiter.ReserveNow("k0", absl::InfiniteFuture());
  EXPECT_LE(limiter.TrackedKeys(), 2u);
}

TEST(LocalRateLimiterTest, DescribeSaysWhatItEnforces) {
  FakeClock clock(kT0);
  EXPECT_EQ(LocalRateLimiter({}, clock).Describe(),
            "in-process: 10 calls per 1s (+50ms margin), burst 5");
  EXPECT_EQ(LocalRateLimiter({.limit = 3,
                              .window = absl::Milliseconds(1500),
                              .margin = absl::ZeroDuration(),
                              .burst = 2},
                             clock)
                .Describe(),
            "in-process: 3 calls per 1.5s (+0 margin), burst 2");
}

}  // namespace
}  // namespace ota
