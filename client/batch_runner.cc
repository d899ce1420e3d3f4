#include "client/batch_runner.h"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"

namespace ota::client {

// Shared with the worker threads, which may outlive Run (detached after the grace).
struct BatchRunner::State {
  State(BatchRunnerOptions options_in, CancelCall cancel_in, const ota::Clock& clock_in,
        RetrySleeper& sleeper_in, BatchRetryPolicy policy_in)
      : options(options_in),
        cancel(std::move(cancel_in)),
        clock(clock_in),
        sleeper(sleeper_in),
        policy(std::move(policy_in)) {}

  const BatchRunnerOptions options;
  const CancelCall cancel;
  const ota::Clock& clock;
  RetrySleeper& sleeper;
  const BatchRetryPolicy policy;

  mutable std::mutex mu;
  std::condition_variable changed;
  std::vector<BatchJob> jobs ABSL_GUARDED_BY(mu);
  ResultSink sink ABSL_GUARDED_BY(mu);
  std::size_t next_index ABSL_GUARDED_BY(mu) = 0;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  // Set when Run returns: answers that come later are dropped.
  bool closed ABSL_GUARDED_BY(mu) = false;
  int running_workers ABSL_GUARDED_BY(mu) = 0;
  int finished ABSL_GUARDED_BY(mu) = 0;
  // Index of each batch in flight -> (its start, attempts so far).
  std::map<std::size_t, std::pair<absl::Time, int>> in_flight ABSL_GUARDED_BY(mu);

  void Work();
  JobResult RunOne(std::size_t index, const BatchJob& job);
  bool Stopping() const {
    std::lock_guard<std::mutex> lock(mu);
    return stopping;
  }
};

JobResult BatchRunner::State::RunOne(std::size_t index, const BatchJob& job) {
  const absl::Time start = clock.Now();
  const absl::Time budget_end = start + options.timeout_per_job;
  int attempts = 0;
  CancelResult result;
  while (true) {
    result = cancel(job, budget_end - clock.Now());
    ++attempts;
    {
      std::lock_guard<std::mutex> lock(mu);
      in_flight[index].second = attempts;
    }
    const RetryDecision decision = policy.Decide(result.error, attempts, budget_end - clock.Now());
    if (!decision.retry || Stopping()) break;
    if (!sleeper.SleepFor(decision.delay) || Stopping()) break;
  }
  return ResultFromCall(job, result, attempts, clock.Now() - start, clock.Now());
}

void BatchRunner::State::Work() {
  while (true) {
    std::size_t index = 0;
    BatchJob job;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping || next_index >= jobs.size()) break;
      index = next_index++;
      job = jobs[index];
      in_flight[index] = {clock.Now(), 0};
    }
    const JobResult result = RunOne(index, job);
    std::lock_guard<std::mutex> lock(mu);
    in_flight.erase(index);
    if (!closed) {
      ++finished;
      sink(result);
    }
    changed.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu);
  --running_workers;
  changed.notify_all();
}

BatchRunner::BatchRunner(BatchRunnerOptions options, CancelCall cancel, const ota::Clock& clock,
                         RetrySleeper& sleeper, BatchRetryPolicy policy)
    : state_(
          std::make_shared<State>(options, std::move(cancel), clock, sleeper, std::move(policy))) {}

BatchRunner::~BatchRunner() = default;

BatchRunReport BatchRunner::Run(const std::vector<BatchJob>& jobs, ResultSink sink) {
  const int workers = static_cast<int>(
      std::min<std::size_t>(std::max(state_->options.concurrency, 1), jobs.size()));
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->jobs = jobs;
    state_->sink = std::move(sink);
    state_->running_workers = workers;
  }
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (int i = 0; i < workers; ++i) {
    threads.emplace_back([state = state_] { state->Work(); });
  }

  BatchRunReport report;
  {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->changed.wait(lock, [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return state_->running_workers == 0 || state_->stopping;
    });
    if (state_->running_workers > 0) {
      // Stopping: the calls in flight get the grace to finish.
      (void)state_->changed.wait_for(
          lock, absl::ToChronoNanoseconds(state_->options.interrupt_grace),
          [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return state_->running_workers == 0; });
    }
    report.interrupted = state_->stopping;
    const absl::Time now = state_->clock.Now();
    for (const auto& [index, started] : state_->in_flight) {
      state_->sink(InterruptedResult(state_->jobs[index], std::max(started.second, 1),
                                     now - started.first, now));
      ++report.abandoned;
    }
    state_->closed = true;
    report.finished = state_->finished;
    report.not_started = static_cast<int>(jobs.size() - state_->next_index);
  }
  for (std::thread& thread : threads) {
    bool done = false;
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      done = state_->running_workers == 0;
    }
    // A worker still blocked in a call must not hold up the exit; it holds the shared state.
    if (done || report.abandoned == 0) {
      thread.join();
    } else {
      thread.detach();
    }
  }
  return report;
}

void BatchRunner::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->stopping = true;
  }
  state_->sleeper.Interrupt();
  state_->changed.notify_all();
}

int BatchRunner::in_flight() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return static_cast<int>(state_->in_flight.size());
}

}  // namespace ota::client
