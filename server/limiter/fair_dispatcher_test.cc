#include "server/limiter/fair_dispatcher.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/limiter/local_rate_limiter.h"
#include "server/testing/fake_clock.h"
#include "server/testing/manual_scheduler.h"

namespace ota {
namespace {

using ::ota::testing::FakeClock;
using ::ota::testing::ManualScheduler;

constexpr absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const RateLimitOptions kAccount{
    .limit = 10, .window = absl::Seconds(1), .margin = absl::Milliseconds(50), .burst = 5};
// One slot at a time: 100 ms apart (burst rule), every tenth 150 ms after the one before (window
// rule, 10 per 1.05 s), so one slot interval is at most 150 ms.
const RateLimitOptions kSmooth{
    .limit = 10, .window = absl::Seconds(1), .margin = absl::Milliseconds(50), .burst = 1};
constexpr absl::Duration kSmoothInterval = absl::Milliseconds(150);

struct Answer {
  std::string caller;
  absl::Time asked_at;
  absl::Time answered_at;
  bool granted = false;
  bool queue_full = false;
  absl::Time start;
  absl::Duration retry_after;
  absl::Time latest_start;
};

// A dispatcher in front of the real in-process limiter, on simulated time.
struct Harness {
  explicit Harness(RateLimitOptions rate = kAccount, int default_max_queued = 2500)
      : clock(kT0),
        scheduler(clock),
        backend(rate, clock),
        dispatcher(backend, scheduler, clock,
                   {.rate = rate,
                    .lookahead = absl::Milliseconds(25),
                    .hold_ahead = 0,
                    .default_max_queued = default_max_queued,
                    .recheck_delay = absl::Milliseconds(10)}) {}

  // Asks for one slot; the answer is recorded when it comes.
  void Ask(const CallerShare& caller, absl::Duration patience = absl::Hours(1)) {
    const absl::Time now = clock.Now();
    const absl::Time latest = now + patience;
    dispatcher.Reserve(
        "acct", caller, latest,
        [this, name = caller.name, now, latest](absl::StatusOr<Reservation> r, bool queue_full) {
          ASSERT_TRUE(r.ok()) << r.status();
          answers.push_back({.caller = name,
                             .asked_at = now,
                             .answered_at = clock.Now(),
                             .granted = r->granted,
                             .queue_full = queue_full,
                             .start = r->start,
                             .retry_after = r->retry_after,
                             .latest_start = latest});
        });
  }
  void AskMany(const CallerShare& caller, int n, absl::Duration patience = absl::Hours(1)) {
    for (int i = 0; i < n; ++i) Ask(caller, patience);
  }
  void RunFor(absl::Duration d) { scheduler.RunUntil(clock.Now() + d); }

  [[nodiscard]] std::vector<Answer> Grants() const {
    std::vector<Answer> out;
    for (const Answer& a : answers) {
      if (a.granted) out.push_back(a);
    }
    return out;
  }
  // How the first `n` granted slots were split between callers.
  [[nodiscard]] std::map<std::string, int> SplitOfFirst(std::size_t n) const {
    std::map<std::string, int> split;
    std::vector<Answer> grants = Grants();
    EXPECT_GE(grants.size(), n);
    for (std::size_t i = 0; i < n && i < grants.size(); ++i) ++split[grants[i].caller];
    return split;
  }

  FakeClock clock;
  ManualScheduler scheduler;
  LocalRateLimiter backend;
  FairDispatcher dispatcher;
  std::vector<Answer> answers;
};

CallerShare Caller(std::string name, int share = 1, int max_queued = 0) {
  return {.name = std::move(name), .share = share, .max_queued = max_queued};
}

TEST(FairDispatcherTest, EqualSharesSplitEvenlyUnderSaturation) {
  Harness h;
  // A's whole flood is queued before B's first call: arrival order must not decide the split.
  h.AskMany(Caller("a"), 200);
  h.AskMany(Caller("b"), 200);
  h.RunFor(absl::Seconds(30));
  // The first burst went to A before B asked; after that, one each.
  std::map<std::string, int> split = h.SplitOfFirst(105);
  EXPECT_EQ(split["a"], 55);
  EXPECT_EQ(split["b"], 50);
}

TEST(FairDispatcherTest, SharesThreeToOne) {
  Harness h;
  h.AskMany(Caller("a", 3), 150);
  h.AskMany(Caller("b", 1), 150);
  h.RunFor(absl::Seconds(30));
  // 5 burst slots to A (alone so far), then 3:1.
  std::map<std::string, int> split = h.SplitOfFirst(85);
  EXPECT_NEAR(split["a"], 5 + 60, 1);
  EXPECT_NEAR(split["b"], 20, 1);
}

TEST(FairDispatcherTest, SharesOneOneFive) {
  Harness h;
  // Interleaved arrivals: no caller is ahead by arrival.
  for (int i = 0; i < 150; ++i) {
    h.Ask(Caller("a", 1));
    h.Ask(Caller("b", 1));
    h.Ask(Caller("c", 5));
  }
  h.RunFor(absl::Seconds(30));
  std::map<std::string, int> split = h.SplitOfFirst(140);
  EXPECT_NEAR(split["a"], 20, 2);
  EXPECT_NEAR(split["b"], 20, 2);
  EXPECT_NEAR(split["c"], 100, 2);
}

TEST(FairDispatcherTest, WorkConservingALoneCallerGetsTheWholeQuota) {
  Harness h;
  h.AskMany(Caller("a", 1), 120);
  h.RunFor(absl::Seconds(10));
  // Exactly the slots the limiter alone hands out in the same time.
  FakeClock reference_clock(kT0);
  LocalRateLimiter reference(kAccount, reference_clock);
  int expected = 0;
  while (reference.ReserveNow("acct", kT0 + absl::Seconds(10)).granted) ++expected;
  int got = 0;
  for (const Answer& a : h.Grants()) got += a.start <= kT0 + absl::Seconds(10) ? 1 : 0;
  EXPECT_EQ(got, expected);
  EXPECT_GE(got, 95);
}

TEST(FairDispatcherTest, WorkConservingAnIdleCallersShareGoesToTheBusyOne) {
  Harness h;
  h.AskMany(Caller("a", 1), 30);
  h.AskMany(Caller("b", 5), 10);
  h.RunFor(absl::Seconds(10));
  // B's 10 calls went first (share 5), then A alone got every slot: nothing was left idle.
  std::vector<Answer> grants = h.Grants();
  ASSERT_EQ(grants.size(), 40U);
  FakeClock reference_clock(kT0);
  LocalRateLimiter reference(kAccount, reference_clock);
  absl::Time last_reference;
  for (int i = 0; i < 40; ++i)
    last_reference = reference.ReserveNow("acct", kT0 + absl::Hours(1)).start;
  EXPECT_EQ(grants.back().start, last_reference);
  EXPECT_EQ(grants.back().caller, "a");
}

TEST(FairDispatcherTest, LoneCallerWaitsAboutOneSlotIntervalWhateverOthersQueued) {
  Harness h(kSmooth);
  h.AskMany(Caller("flood", 1), 1000);
  h.RunFor(absl::Milliseconds(3333));
  for (int i = 0; i < 5; ++i) {
    const absl::Time asked = h.clock.Now();
    h.Ask(Caller("oncall", 1), absl::Seconds(3));
    h.RunFor(absl::Seconds(1));
    const auto it = std::find_if(h.answers.rbegin(), h.answers.rend(),
                                 [](const Answer& a) { return a.caller == "oncall"; });
    ASSERT_NE(it, h.answers.rend());
    const Answer& mine = *it;
    ASSERT_EQ(mine.asked_at, asked);
    ASSERT_TRUE(mine.granted);
    EXPECT_LE(mine.start - asked, kSmoothInterval + absl::Milliseconds(25)) << i;
    h.RunFor(absl::Milliseconds(777));
  }
}

TEST(FairDispatcherTest, LoneCallerWithBurstsWaitsAtMostOneBunch) {
  Harness h(kAccount);
  h.AskMany(Caller("flood", 1), 1000);
  h.RunFor(absl::Milliseconds(1234));
  const absl::Time asked = h.clock.Now();
  h.Ask(Caller("oncall", 1), absl::Seconds(3));
  h.RunFor(absl::Seconds(2));
  const auto it = std::find_if(h.answers.begin(), h.answers.end(),
                               [](const Answer& a) { return a.caller == "oncall"; });
  ASSERT_NE(it, h.answers.end());
  ASSERT_TRUE(it->granted);
  // Slots come five at a time every 525 ms: the next bunch, not the one after the flood.
  EXPECT_LE(it->start - asked, absl::Milliseconds(550));
}

TEST(FairDispatcherTest, RefusedAtArrivalWhenNoSlotBeforeTheDeadline) {
  Harness h;
  h.AskMany(Caller("flood", 1), 20);  // 5 now, 5 at 0.5 s, ...
  const std::size_t before = h.answers.size();
  // The next slot is at 0.5 s: a call that must start within 100 ms is refused at once, with a
  // delay that counts only the calls ordered before it (its own share), not the whole queue.
  h.Ask(Caller("oncall", 1), absl::Milliseconds(100));
  ASSERT_EQ(h.answers.size(), before + 1);
  const Answer& refused = h.answers.back();
  EXPECT_FALSE(refused.granted);
  EXPECT_FALSE(refused.queue_full);
  EXPECT_EQ(refused.answered_at, refused.asked_at);
  EXPECT_GE(refused.retry_after, absl::Milliseconds(400));
  EXPECT_LE(refused.retry_after, absl::Milliseconds(600));

  // The flood's own next call is behind 15 of its own: its delay says so.
  h.Ask(Caller("flood", 1), absl::Milliseconds(100));
  EXPECT_FALSE(h.answers.back().granted);
  EXPECT_GE(h.answers.back().retry_after, absl::Milliseconds(1500));
}

TEST(FairDispatcherTest, RefusedAsSoonAsAnotherCallerPushesItBack) {
  Harness h;
  h.RunFor(absl::Milliseconds(1));
  // A queues 30 calls that all fit within 4 s at the full rate (the 30th starts at ~3.1 s).
  h.AskMany(Caller("a", 1), 30, absl::Seconds(4));
  h.RunFor(absl::Milliseconds(50));
  for (const Answer& a : h.answers) EXPECT_TRUE(a.granted);
  // B (share 5) now takes 5 of every 6 slots: A's last calls can no longer start in time.
  const absl::Time pushed_at = h.clock.Now();
  h.AskMany(Caller("b", 5), 60, absl::Hours(1));
  h.RunFor(absl::Milliseconds(20));
  int refused_a = 0;
  for (const Answer& a : h.answers) {
    if (a.caller == "a" && !a.granted) {
      ++refused_a;
      EXPECT_LE(a.answered_at - pushed_at, absl::Milliseconds(20));
      EXPECT_GT(a.retry_after, absl::ZeroDuration());
    }
  }
  EXPECT_GT(refused_a, 0);
  h.RunFor(absl::Seconds(20));
  // Every call of A was answered, and none was granted a slot after its latest start.
  int answered_a = 0;
  for (const Answer& a : h.answers) {
    if (a.caller != "a") continue;
    ++answered_a;
    if (a.granted) {
      EXPECT_LE(a.start, a.latest_start);
    } else {
      EXPECT_LT(a.answered_at, a.latest_start);
    }
  }
  EXPECT_EQ(answered_a, 30);
}

TEST(FairDispatcherTest, PerCallerQueueCap) {
  Harness h(kAccount, /*default_max_queued=*/4);
  // One slot now (burst) ... keep them all queued: the limiter has spent its burst first.
  h.AskMany(Caller("warmup", 1), 5);
  h.AskMany(Caller("capped", 1, /*max_queued=*/3), 5);
  int full = 0;
  for (const Answer& a : h.answers) {
    if (a.caller == "capped" && a.queue_full) {
      ++full;
      EXPECT_FALSE(a.granted);
      EXPECT_GT(a.retry_after, absl::ZeroDuration());
    }
  }
  EXPECT_EQ(full, 2);
  EXPECT_EQ(h.dispatcher.Queued("acct", "capped"), 3U);
  // Another caller has its own cap (the default, 4).
  h.AskMany(Caller("other", 1), 5);
  EXPECT_EQ(h.dispatcher.Queued("acct", "other"), 4U);
  // Once a call leaves the queue there is room again.
  h.RunFor(absl::Seconds(1));
  EXPECT_LT(h.dispatcher.Queued("acct", "capped"), 3U);
  const std::size_t before = h.answers.size();
  h.Ask(Caller("capped", 1, 3));
  for (std::size_t i = before; i < h.answers.size(); ++i) EXPECT_FALSE(h.answers[i].queue_full);
}

// Two replicas sharing one budget (the backend stands in for Redis), each with its own queue.
TEST(FairDispatcherTest, ALoneCallerOnAnotherReplicaGetsTheNextFreeSlotOfTheFleet) {
  FakeClock clock(kT0);
  ManualScheduler scheduler(clock);
  LocalRateLimiter shared(kAccount, clock);
  const FairDispatcherOptions options{.rate = kAccount,
                                      .lookahead = absl::Milliseconds(50),
                                      .hold_ahead = 1,
                                      .default_max_queued = 2500,
                                      .recheck_delay = absl::Milliseconds(10)};
  FairDispatcher flooded(shared, scheduler, clock, options);
  FairDispatcher quiet(shared, scheduler, clock, options);
  std::vector<absl::Time> flood_starts;
  for (int i = 0; i < 300; ++i) {
    flooded.Reserve("acct", Caller("a"), kT0 + absl::Hours(1),
                    [&](absl::StatusOr<Reservation> r, bool) {
                      ASSERT_TRUE(r.ok() && r->granted);
                      flood_starts.push_back(r->start);
                    });
  }
  scheduler.RunUntil(kT0 + absl::Milliseconds(2345));
  // The flooded replica holds at most one slot beyond its look-ahead, not the next 30 s.
  int ahead = 0;
  for (absl::Time start : flood_starts) ahead += start > clock.Now() + absl::Milliseconds(50);
  EXPECT_LE(ahead, 1);
  for (int i = 0; i < 5; ++i) {
    const absl::Time asked = clock.Now();
    std::optional<Reservation> mine;
    quiet.Reserve("acct", Caller("b"), asked + absl::Seconds(3),
                  [&](absl::StatusOr<Reservation> r, bool) { mine = *r; });
    scheduler.RunUntil(asked + absl::Seconds(1));
    ASSERT_TRUE(mine.has_value());
    ASSERT_TRUE(mine->granted);
    // The fleet's next bunch of slots (every 525 ms), after the one slot the other replica holds.
    EXPECT_LE(mine->start - asked, absl::Milliseconds(600)) << i;
    scheduler.RunUntil(clock.Now() + absl::Milliseconds(333));
  }
  // The flood kept the rest of the quota busy: nothing idle.
  scheduler.RunUntil(kT0 + absl::Seconds(10));
  std::vector<absl::Time> all = flood_starts;
  EXPECT_GE(all.size(), 90U);
}

// A backend whose shared store is unreachable.
class DownLimiter final : public RateLimiter {
 public:
  void Reserve(const std::string&, absl::Time, Callback done) override {
    std::move(done)(absl::UnavailableError("redis down"));
  }
  void PauseUntil(const std::string&, absl::Time) override {}
  [[nodiscard]] std::string Describe() const override { return "down"; }
};

TEST(FairDispatcherTest, BackendFailureReachesTheWaitingCall) {
  FakeClock clock(kT0);
  ManualScheduler scheduler(clock);
  DownLimiter backend;
  FairDispatcher dispatcher(backend, scheduler, clock, {.rate = kAccount});
  absl::Status got;
  dispatcher.Reserve("acct", Caller("a"), kT0 + absl::Seconds(5),
                     [&](absl::StatusOr<Reservation> r, bool) { got = r.status(); });
  EXPECT_EQ(got.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(dispatcher.Queued("acct", "a"), 0U);
}

// A backend that fails while `down` is set, and is the real limiter otherwise.
class FlakyLimiter final : public RateLimiter {
 public:
  FlakyLimiter(RateLimitOptions options, const Clock& clock) : real_(options, clock) {}
  void Reserve(const std::string& key, absl::Time latest_start, Callback done) override {
    if (down) return std::move(done)(absl::UnavailableError("redis down"));
    real_.Reserve(key, latest_start, std::move(done));
  }
  void PauseUntil(const std::string& key, absl::Time until) override {
    real_.PauseUntil(key, until);
  }
  [[nodiscard]] std::string Describe() const override { return "flaky"; }
  bool down = false;

 private:
  LocalRateLimiter real_;
};

TEST(FairDispatcherTest, AnOutageFailsNewCallsAndKeepsWaitingOnesWhileTheyCanWait) {
  FakeClock clock(kT0);
  ManualScheduler scheduler(clock);
  FlakyLimiter backend(kAccount, clock);
  FairDispatcher dispatcher(backend, scheduler, clock, {.rate = kAccount});
  std::map<std::string, absl::Status> failed;
  std::map<std::string, Reservation> granted;
  auto ask = [&](const std::string& id, absl::Duration patience) {
    dispatcher.Reserve("acct", Caller("a"), clock.Now() + patience,
                       [&, id](absl::StatusOr<Reservation> r, bool) {
                         if (r.ok()) {
                           ASSERT_TRUE(r->granted) << id;
                           granted[id] = *r;
                         } else {
                           failed[id] = r.status();
                         }
                       });
  };
  // Five slots now, five at 0.5 s, five at 1.05 s.
  for (int i = 0; i < 15; ++i) ask(absl::StrCat("before-", i), absl::Seconds(10));
  // Expected to start at ~1.55 s: it fits, but cannot outlast the outage below.
  ask("short", absl::Milliseconds(1600));
  scheduler.RunUntil(kT0 + absl::Milliseconds(600));
  EXPECT_EQ(granted.size(), 10U);
  backend.down = true;
  ask("during", absl::Seconds(10));  // after the backend's last healthy answer
  scheduler.RunUntil(kT0 + absl::Milliseconds(1100));
  EXPECT_EQ(failed.count("during"), 1U);  // by the next slot time, not at its deadline
  EXPECT_EQ(failed["during"].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(failed.size(), 1U);  // the calls that were waiting keep their place
  ask("later", absl::Seconds(10));
  EXPECT_EQ(failed.count("later"), 1U);  // the outage is known now: at once
  scheduler.RunUntil(kT0 + absl::Milliseconds(1600));
  EXPECT_EQ(failed.count("short"), 1U);  // before its latest start, not at it
  backend.down = false;
  scheduler.RunUntil(kT0 + absl::Seconds(5));
  for (int i = 0; i < 15; ++i) EXPECT_EQ(granted.count(absl::StrCat("before-", i)), 1U) << i;
  EXPECT_EQ(granted.size(), 15U);
}

TEST(FairDispatcherTest, DestroyedDispatcherDropsWaitingCallsAndItsTimers) {
  FakeClock clock(kT0);
  ManualScheduler scheduler(clock);
  LocalRateLimiter backend(kAccount, clock);
  int answered = 0;
  auto owned = std::make_shared<int>(0);
  {
    FairDispatcher dispatcher(backend, scheduler, clock, {.rate = kAccount});
    for (int i = 0; i < 20; ++i) {
      dispatcher.Reserve("acct", Caller("a"), kT0 + absl::Hours(1),
                         [&answered, owned](absl::StatusOr<Reservation>, bool) { ++answered; });
    }
  }
  EXPECT_EQ(answered, 5);           // the burst, granted at once
  EXPECT_EQ(owned.use_count(), 1);  // the others' callbacks were released
  scheduler.RunAll();               // stale timers do nothing
  EXPECT_EQ(answered, 5);
}

TEST(FairDispatcherTest, NeverGrantsMoreThanTheBackendAllows) {
  Harness h;
  for (int i = 0; i < 100; ++i) {
    h.Ask(Caller("a", 2), absl::Seconds(5));
    h.Ask(Caller("b", 1), absl::Seconds(2));
    h.RunFor(absl::Milliseconds(37));
  }
  h.RunFor(absl::Seconds(10));
  std::vector<absl::Time> starts;
  for (const Answer& a : h.Grants()) starts.push_back(a.start);
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 10; i < starts.size(); ++i) {
    EXPECT_GE(starts[i] - starts[i - 10], absl::Milliseconds(1050)) << i;
  }
  EXPECT_EQ(h.answers.size(), 200U);
}

}  // namespace
}  // namespace ota
