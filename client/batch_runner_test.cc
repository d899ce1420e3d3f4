#include "client/batch_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/testing/simulated_sleeper.h"
#include "server/testing/fake_clock.h"

namespace ota::client {
namespace {

using ::ota::testing::FakeClock;
using ::ota::testing::SimulatedSleeper;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

std::vector<BatchJob> Jobs(int n) {
  std::vector<BatchJob> jobs;
  for (int i = 0; i < n; ++i)
    jobs.push_back({.job_id = absl::StrCat("J", i), .iot_instance_id = ""});
  return jobs;
}

CancelResult Ok() {
  return {.request_id = "R", .outcome = ota::v1::CANCEL_OUTCOME_CANCELLED, .error = std::nullopt};
}

CancelResult Failed(grpc::StatusCode code, std::optional<absl::Duration> retry_delay = {}) {
  CallError error;
  error.code = code;
  error.retry_delay = retry_delay;
  return {.request_id = {}, .outcome = {}, .error = error};
}

// Jitter pinned: backoff delays are exactly their caps.
BatchRetryPolicy PinnedPolicy() {
  return BatchRetryPolicy([] { return 1.0; });
}

// Calls that wait until the test opens the gate, counting how many are in flight at once.
class GatedCalls {
 public:
  CancelResult Call() {
    std::unique_lock<std::mutex> lock(mu_);
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
    --in_flight_;
    return Ok();
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits (real time, bounded) until `n` calls are in flight.
  bool AwaitInFlight(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(10), [&] { return in_flight_ == n; });
  }
  int max_in_flight() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_in_flight_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = false;
  int in_flight_ = 0;
  int max_in_flight_ = 0;
};

class BatchRunnerTest : public ::testing::Test {
 protected:
  FakeClock clock_{absl::FromUnixSeconds(1796600000)};
  SimulatedSleeper sleeper_{clock_};
  std::mutex results_mu_;
  std::vector<JobResult> results_;

  ResultSink Collect() {
    return [this](const JobResult& result) {
      std::lock_guard<std::mutex> lock(results_mu_);
      results_.push_back(result);
    };
  }
};

TEST_F(BatchRunnerTest, EveryJobGetsOneResult) {
  std::atomic<int> calls{0};
  BatchRunner runner(
      {.concurrency = 4, .timeout_per_job = absl::Seconds(60), .interrupt_grace = absl::Seconds(5)},
      [&](const BatchJob& job, absl::Duration) {
        ++calls;
        return job.job_id == "J3" ? Failed(grpc::StatusCode::NOT_FOUND) : Ok();
      },
      clock_, sleeper_, PinnedPolicy());
  const BatchRunReport report = runner.Run(Jobs(25), Collect());
  EXPECT_FALSE(report.interrupted);
  EXPECT_EQ(report.finished, 25);
  EXPECT_EQ(report.not_started, 0);
  EXPECT_EQ(calls, 25);
  std::vector<std::string> ids;
  for (const JobResult& r : results_) {
    ids.push_back(r.job.job_id);
    EXPECT_EQ(r.code, r.job.job_id == "J3" ? "NOT_FOUND" : "OK");
    EXPECT_EQ(r.attempts, 1);
  }
  std::vector<std::string> expected;
  for (const BatchJob& job : Jobs(25)) expected.push_back(job.job_id);
  EXPECT_THAT(ids, UnorderedElementsAreArray(expected));
}

TEST_F(BatchRunnerTest, NeverMoreThanConcurrencyCallsInFlight) {
  auto gate = std::make_shared<GatedCalls>();
  BatchRunner runner(
      {.concurrency = 3, .timeout_per_job = absl::Seconds(60), .interrupt_grace = absl::Seconds(5)},
      [gate](const BatchJob&, absl::Duration) { return gate->Call(); }, clock_, sleeper_);
  std::thread opener([&] {
    ASSERT_TRUE(gate->AwaitInFlight(3));
    // Give a fourth call every chance to start if the bound were broken.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(runner.in_flight(), 3);
    gate->Open();
  });
  const BatchRunReport report = runner.Run(Jobs(10), Collect());
  opener.join();
  EXPECT_EQ(report.finished, 10);
  EXPECT_EQ(gate->max_in_flight(), 3);
}

TEST_F(BatchRunnerTest, RetriesAfterRetryInfoAndEachAttemptGetsWhatIsLeftOfTheBudget) {
  std::vector<absl::Duration> timeouts;
  BatchRunner runner(
      {.concurrency = 1, .timeout_per_job = absl::Seconds(10), .interrupt_grace = absl::Seconds(5)},
      [&](const BatchJob&, absl::Duration timeout) {
        timeouts.push_back(timeout);
        return timeouts.size() < 3
                   ? Failed(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Milliseconds(1500))
                   : Ok();
      },
      clock_, sleeper_, PinnedPolicy());
  runner.Run(Jobs(1), Collect());
  EXPECT_THAT(sleeper_.delays(), ElementsAre(absl::Milliseconds(1500), absl::Milliseconds(1500)));
  EXPECT_THAT(timeouts, ElementsAre(absl::Seconds(10), absl::Milliseconds(8500), absl::Seconds(7)));
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].code, "OK");
  EXPECT_EQ(results_[0].attempts, 3);
  EXPECT_EQ(results_[0].elapsed, absl::Seconds(3));
}

TEST_F(BatchRunnerTest, UnavailableBacksOffUntilTheBudgetCannotHoldAnotherAttempt) {
  int calls = 0;
  BatchRunner runner(
      {.concurrency = 1, .timeout_per_job = absl::Seconds(3), .interrupt_grace = absl::Seconds(5)},
      [&](const BatchJob&, absl::Duration) {
        ++calls;
        return Failed(grpc::StatusCode::UNAVAILABLE);
      },
      clock_, sleeper_, PinnedPolicy());
  runner.Run(Jobs(1), Collect());
  // 0.5 s (+1 s attempt fits in 3 s), 1 s (fits in 2.5 s); 2 s + 1 s does not fit in 1.5 s.
  EXPECT_THAT(sleeper_.delays(), ElementsAre(absl::Milliseconds(500), absl::Seconds(1)));
  EXPECT_EQ(calls, 3);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].code, "UNAVAILABLE");
  EXPECT_EQ(results_[0].attempts, 3);
}

TEST_F(BatchRunnerTest, StopStartsNothingNewAndLetsCallsInFlightFinish) {
  auto gate = std::make_shared<GatedCalls>();
  BatchRunner runner(
      {.concurrency = 2,
       .timeout_per_job = absl::Seconds(60),
       .interrupt_grace = absl::Seconds(10)},
      [gate](const BatchJob&, absl::Duration) { return gate->Call(); }, clock_, sleeper_);
  std::thread interrupter([&] {
    ASSERT_TRUE(gate->AwaitInFlight(2));
    runner.RequestStop();
    gate->Open();
  });
  const BatchRunReport report = runner.Run(Jobs(10), Collect());
  interrupter.join();
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.finished, 2);
  EXPECT_EQ(report.abandoned, 0);
  EXPECT_EQ(report.not_started, 8);
  ASSERT_EQ(results_.size(), 2u);
  for (const JobResult& r : results_) EXPECT_EQ(r.code, "OK");
}

TEST_F(BatchRunnerTest, CallsStillInFlightAfterTheGraceAreReportedInterrupted) {
  auto gate = std::make_shared<GatedCalls>();
  // The abandoned calls outlive the runner and this test's fixture: give them a clock and sleeper
  // that live as long as the process.
  static FakeClock clock(absl::FromUnixSeconds(1796600000));
  static SimulatedSleeper sleeper(clock);
  {
    BatchRunner runner(
        {.concurrency = 2,
         .timeout_per_job = absl::Seconds(60),
         .interrupt_grace = absl::Milliseconds(50)},
        [gate](const BatchJob&, absl::Duration) { return gate->Call(); }, clock, sleeper);
    std::thread interrupter([&] {
      ASSERT_TRUE(gate->AwaitInFlight(2));
      runner.RequestStop();
    });
    const BatchRunReport report = runner.Run(Jobs(5), Collect());
    interrupter.join();
    EXPECT_TRUE(report.interrupted);
    EXPECT_EQ(report.finished, 0);
    EXPECT_EQ(report.abandoned, 2);
    EXPECT_EQ(report.not_started, 3);
  }
  ASSERT_EQ(results_.size(), 2u);
  for (const JobResult& r : results_) {
    EXPECT_EQ(r.code, "CANCELLED");
    EXPECT_EQ(r.reason, "INTERRUPTED");
  }
  // The detached calls end now; their answers must not reach the sink.
  gate->Open();
  ASSERT_TRUE(gate->AwaitInFlight(0));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard<std::mutex> lock(results_mu_);
  EXPECT_EQ(results_.size(), 2u);
}

TEST_F(BatchRunnerTest, StopDuringARetryWaitKeepsTheLastAnswer) {
  BatchRunner* self = nullptr;
  BatchRunner runner(
      {.concurrency = 1, .timeout_per_job = absl::Seconds(60), .interrupt_grace = absl::Seconds(5)},
      [&](const BatchJob&, absl::Duration) {
        self->RequestStop();  // Ctrl-C arrives while the gateway answers "later"
        return Failed(grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Seconds(1));
      },
      clock_, sleeper_, PinnedPolicy());
  self = &runner;
  const BatchRunReport report = runner.Run(Jobs(3), Collect());
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.not_started, 2);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].code, "RESOURCE_EXHAUSTED");
  EXPECT_TRUE(sleeper_.delays().empty());
}

TEST_F(BatchRunnerTest, AStopAfterTheLastCallStartedStillCountsAsInterrupted) {
  BatchRunner* self = nullptr;
  BatchRunner runner(
      {.concurrency = 1, .timeout_per_job = absl::Seconds(60), .interrupt_grace = absl::Seconds(5)},
      [&](const BatchJob&, absl::Duration) {
        self->RequestStop();  // Ctrl-C during the one and only call: it finishes, exit is 130
        return Ok();
      },
      clock_, sleeper_, PinnedPolicy());
  self = &runner;
  const BatchRunReport report = runner.Run(Jobs(1), Collect());
  EXPECT_TRUE(report.interrupted);
  EXPECT_EQ(report.finished, 1);
  EXPECT_EQ(report.not_started, 0);
}

TEST_F(BatchRunnerTest, EmptyListFinishesAtOnce) {
  BatchRunner runner(
      {}, [](const BatchJob&, absl::Duration) { return Ok(); }, clock_, sleeper_);
  const BatchRunReport report = runner.Run({}, Collect());
  EXPECT_FALSE(report.interrupted);
  EXPECT_EQ(report.finished, 0);
}

}  // namespace
}  // namespace ota::client
