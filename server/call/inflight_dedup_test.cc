#include "server/call/inflight_dedup.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/manual_scheduler.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::ota::testing::FakeClock;
using ::ota::testing::ManualScheduler;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

// Stands in for CancelByJobRunner: records each call and lets the test finish it.
class FakeCaller final : public CancelByJobCaller {
 public:
  struct Started {
    CancelByJobParams params;
    absl::Time deadline;
    std::function<bool()> is_cancelled;
    Done done;
  };
  void Run(CancelByJobParams params, absl::Time deadline, std::function<bool()> is_cancelled,
           Done done) const override {
    started.push_back(
        Started{std::move(params), deadline, std::move(is_cancelled), std::move(done)});
  }
  void Finish(std::size_t index, CallOutcome outcome, int attempts = 1) const {
    Done done = std::move(started.at(index).done);
    done(CallResult{.outcome = std::move(outcome), .attempts = attempts});
  }
  mutable std::vector<Started> started;
};

CallOutcome Success(std::string request_id) {
  CallOutcome outcome;
  outcome.request_id = std::move(request_id);
  return outcome;
}

CallOutcome Code(absl::StatusCode code, std::string reason) {
  CallOutcome outcome;
  outcome.code = code;
  outcome.reason = std::move(reason);
  return outcome;
}

class InflightDedupTest : public ::testing::Test {
 protected:
  InflightDedupTest()
      : clock_(kStart),
        scheduler_(clock_),
        dedup_(inner_, scheduler_, clock_, [this] { return account_; }) {}

  // Starts a call; its result lands in the returned slot.
  std::shared_ptr<std::optional<CallResult>> Start(std::string job, absl::Duration timeout,
                                                   std::string instance = "",
                                                   std::function<bool()> cancelled = nullptr) {
    auto slot = std::make_shared<std::optional<CallResult>>();
    dedup_.Run({.job_id = std::move(job), .iot_instance_id = std::move(instance)},
               clock_.Now() + timeout, std::move(cancelled),
               [slot](CallResult r) { *slot = std::move(r); });
    return slot;
  }

  FakeClock clock_;
  ManualScheduler scheduler_;
  FakeCaller inner_;
  std::string account_ = "account-1";
  InflightDedup dedup_;
};

TEST_F(InflightDedupTest, IdenticalConcurrentCallsShareOneUpstreamCall) {
  auto first = Start("J1", absl::Seconds(10));
  auto second = Start("J1", absl::Seconds(10));
  auto third = Start("J1", absl::Seconds(10));
  ASSERT_EQ(inner_.started.size(), 1u);
  EXPECT_FALSE(first->has_value());
  EXPECT_FALSE(second->has_value());

  inner_.Finish(0, Success("REQ-1"), /*attempts=*/2);
  for (const auto& slot : {first, second, third}) {
    ASSERT_TRUE(slot->has_value());
    EXPECT_THAT((*slot)->outcome, IsOk());
    EXPECT_EQ((*slot)->outcome.request_id, "REQ-1");
    EXPECT_EQ((*slot)->attempts, 2);
  }
  EXPECT_FALSE((*first)->shared_with_inflight);
  EXPECT_TRUE((*second)->shared_with_inflight);
  EXPECT_TRUE((*third)->shared_with_inflight);
  EXPECT_EQ(dedup_.stats().upstream_calls, 1u);
  EXPECT_EQ(dedup_.stats().joined, 2u);
  EXPECT_EQ(dedup_.in_flight(), 0u);
}

TEST_F(InflightDedupTest, DifferentJobInstanceOrAccountAreNotMerged) {
  Start("J1", absl::Seconds(10));
  Start("J2", absl::Seconds(10));
  Start("J1", absl::Seconds(10), "iot-inst-1");
  account_ = "account-2";
  Start("J1", absl::Seconds(10));
  EXPECT_EQ(inner_.started.size(), 4u);
  EXPECT_EQ(dedup_.stats().joined, 0u);
}

TEST_F(InflightDedupTest, ACallAfterTheSharedOneFinishedStartsAnew) {
  auto first = Start("J1", absl::Seconds(10));
  inner_.Finish(0, Success("REQ-1"));
  auto later = Start("J1", absl::Seconds(10));
  ASSERT_EQ(inner_.started.size(), 2u);
  inner_.Finish(1, Code(absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED"));
  ASSERT_TRUE(later->has_value());
  EXPECT_EQ((*later)->outcome.code, absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE((*later)->shared_with_inflight);
}

TEST_F(InflightDedupTest, ErrorsAreSharedToo) {
  auto first = Start("J1", absl::Seconds(10));
  auto second = Start("J1", absl::Seconds(10));
  inner_.Finish(0, Code(absl::StatusCode::kNotFound, "JOB_NOT_FOUND"));
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->outcome.code, absl::StatusCode::kNotFound);
  EXPECT_EQ((*second)->outcome.reason, "JOB_NOT_FOUND");
}

TEST_F(InflightDedupTest, OneCallerCancellingDoesNotCancelTheSharedCall) {
  bool leader_cancelled = false;
  bool joiner_cancelled = false;
  auto leader = Start("J1", absl::Seconds(10), "", [&] { return leader_cancelled; });
  auto joiner = Start("J1", absl::Seconds(10), "", [&] { return joiner_cancelled; });
  ASSERT_EQ(inner_.started.size(), 1u);
  const auto& is_cancelled = inner_.started[0].is_cancelled;
  ASSERT_TRUE(is_cancelled);
  EXPECT_FALSE(is_cancelled());
  leader_cancelled = true;
  EXPECT_FALSE(is_cancelled()) << "the joiner still waits";
  joiner_cancelled = true;
  EXPECT_TRUE(is_cancelled()) << "nobody waits any more";
}

TEST_F(InflightDedupTest, ACallerWithoutCancellationCheckKeepsTheCallAlive) {
  bool leader_cancelled = true;
  Start("J1", absl::Seconds(10), "", [&] { return leader_cancelled; });
  Start("J1", absl::Seconds(10));
  EXPECT_FALSE(inner_.started[0].is_cancelled());
}

TEST_F(InflightDedupTest, JoinerWithShorterDeadlineGetsDeadlineExceededInTime) {
  auto leader = Start("J1", absl::Seconds(10));
  auto joiner = Start("J1", absl::Seconds(2));
  scheduler_.RunUntil(kStart + absl::Milliseconds(1999));
  EXPECT_FALSE(joiner->has_value());
  scheduler_.RunUntil(kStart + absl::Seconds(2));
  ASSERT_TRUE(joiner->has_value());
  EXPECT_EQ((*joiner)->outcome.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ((*joiner)->outcome.reason, "SHARED_CALL_TIMEOUT");
  EXPECT_TRUE((*joiner)->shared_with_inflight);
  EXPECT_FALSE(leader->has_value());

  // The expired joiner no longer holds the call open, and is not answered twice.
  inner_.Finish(0, Success("REQ-1"));
  ASSERT_TRUE(leader->has_value());
  EXPECT_THAT((*leader)->outcome, IsOk());
  EXPECT_EQ((*joiner)->outcome.code, absl::StatusCode::kDeadlineExceeded);
}

TEST_F(InflightDedupTest, ExpiredJoinerDoesNotKeepTheSharedCallAlive) {
  bool leader_cancelled = false;
  Start("J1", absl::Seconds(10), "", [&] { return leader_cancelled; });
  Start("J1", absl::Seconds(1));  // no cancellation check: would keep the call alive
  scheduler_.RunUntil(kStart + absl::Seconds(1));
  leader_cancelled = true;
  EXPECT_TRUE(inner_.started[0].is_cancelled());
}

TEST_F(InflightDedupTest, JoinerWithLongerDeadlineIsRunAgainWhenTheSharedDeadlineRunsOut) {
  auto leader = Start("J1", absl::Seconds(2));
  clock_.Set(kStart + absl::Seconds(1));
  auto joiner = Start("J1", absl::Seconds(10));
  EXPECT_EQ(scheduler_.pending(), 0u) << "no timer for a joiner that outlives the shared call";
  clock_.Set(kStart + absl::Seconds(2));
  inner_.Finish(0, Code(absl::StatusCode::kDeadlineExceeded, "UPSTREAM_TIMEOUT"));
  ASSERT_TRUE(leader->has_value());
  EXPECT_EQ((*leader)->outcome.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(joiner->has_value());
  ASSERT_EQ(inner_.started.size(), 2u);
  EXPECT_EQ(inner_.started[1].deadline, kStart + absl::Seconds(11));
  EXPECT_EQ(dedup_.stats().reruns, 1u);

  inner_.Finish(1, Success("REQ-2"));
  ASSERT_TRUE(joiner->has_value());
  EXPECT_THAT((*joiner)->outcome, IsOk());
  EXPECT_FALSE((*joiner)->shared_with_inflight) << "it led the second call";
}

TEST_F(InflightDedupTest, JoinerWithoutTimeLeftGetsTheSharedDeadlineExceeded) {
  auto leader = Start("J1", absl::Seconds(2));
  auto joiner = Start("J1", absl::Milliseconds(2050));
  clock_.Set(kStart + absl::Seconds(2));
  inner_.Finish(0, Code(absl::StatusCode::kDeadlineExceeded, "UPSTREAM_TIMEOUT"));
  ASSERT_TRUE(joiner->has_value());
  EXPECT_EQ((*joiner)->outcome.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(inner_.started.size(), 1u);
}

TEST_F(InflightDedupTest, SynchronousAnswerFromInnerCallerIsDelivered) {
  // A runner answers at once when there are no credentials or the deadline is too short.
  class ImmediateCaller final : public CancelByJobCaller {
   public:
    void Run(CancelByJobParams, absl::Time, std::function<bool()>, Done done) const override {
      done(CallResult{.outcome = Code(absl::StatusCode::kUnavailable, "CREDENTIALS_UNAVAILABLE")});
    }
  } immediate;
  InflightDedup dedup(immediate, scheduler_, clock_, [] { return std::string("a"); });
  std::optional<CallResult> result;
  dedup.Run({.job_id = "J1", .iot_instance_id = ""}, kStart + absl::Seconds(1), nullptr,
            [&](CallResult r) { result = std::move(r); });
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome.reason, "CREDENTIALS_UNAVAILABLE");
  EXPECT_EQ(dedup.in_flight(), 0u);
}

// Callers arriving on many threads while shared calls finish on another: every caller is
// answered exactly once, and each caller either started an upstream call or joined one.
TEST(InflightDedupConcurrencyTest, EveryCallerIsAnsweredOnce) {
  class LockedCaller final : public CancelByJobCaller {
   public:
    void Run(CancelByJobParams, absl::Time, std::function<bool()> is_cancelled,
             Done done) const override {
      std::lock_guard<std::mutex> lock(mu);
      open.push_back({std::move(is_cancelled), std::move(done)});
    }
    // Finishes every call started so far; returns how many.
    int FinishAll() const {
      std::vector<std::pair<std::function<bool()>, Done>> calls;
      {
        std::lock_guard<std::mutex> lock(mu);
        calls.swap(open);
      }
      for (auto& [is_cancelled, done] : calls) {
        if (is_cancelled) (void)is_cancelled();
        done(CallResult{.outcome = Success("REQ")});
      }
      return static_cast<int>(calls.size());
    }
    mutable std::mutex mu;
    mutable std::vector<std::pair<std::function<bool()>, Done>> open;
  } inner;
  FakeClock clock(kStart);
  ManualScheduler scheduler(clock);  // no joiner has a shorter deadline: stays unused
  InflightDedup dedup(inner, scheduler, clock, [] { return std::string("account"); });

  constexpr int kThreads = 4;
  constexpr int kCallsPerThread = 200;
  std::atomic<int> answers{0};
  std::atomic<bool> callers_done{false};
  std::thread finisher([&] {
    while (!callers_done.load()) inner.FinishAll();
    inner.FinishAll();
  });
  std::vector<std::thread> callers;
  for (int thread = 0; thread < kThreads; ++thread) {
    callers.emplace_back([&] {
      for (int i = 0; i < kCallsPerThread; ++i) {
        dedup.Run(
            {.job_id = absl::StrCat("J", i % 3), .iot_instance_id = ""}, kStart + absl::Seconds(10),
            [] { return false; }, [&](CallResult) { answers.fetch_add(1); });
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  callers_done.store(true);
  finisher.join();
  EXPECT_EQ(answers.load(), kThreads * kCallsPerThread);
  const InflightDedup::Stats stats = dedup.stats();
  EXPECT_EQ(stats.upstream_calls + stats.joined,
            static_cast<std::uint64_t>(kThreads * kCallsPerThread));
  EXPECT_EQ(dedup.in_flight(), 0u);
}

}  // namespace
}  // namespace ota
