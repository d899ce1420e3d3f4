// BatchRunner: cancels a list of update batches with a bounded number of calls in flight, retrying
// each as BatchRetryPolicy says within its time budget, and stops cleanly when interrupted.
//
// The gateway paces calls to the account's quota and queues the rest, so the runner does no rate
// limiting of its own: it keeps `concurrency` calls in flight, enough to use the quota without
// piling a long queue on the gateway. The default, 20, is about 2 s of the 10 calls/s quota.
//
// RequestStop() (Ctrl-C) stops starting batches and cuts retry waits short (such a batch keeps its
// last answer); calls in flight get `interrupt_grace` to finish, and those still running after it
// are reported as interrupted (code CANCELLED, reason INTERRUPTED). Batches never started get no
// result. The calls, the clock and the retry waits are injected, so the runner is tested without a
// server and on simulated time.
//
//   ota::client::BatchRunner runner(
//       {}, [&client](const BatchJob& job, absl::Duration timeout) {
//         return client.CancelByJob(job.job_id, job.iot_instance_id, timeout);
//       },
//       ota::SystemClock::Get(), sleeper);
//   BatchRunReport report = runner.Run(jobs, [&](const JobResult& r) { log.Write(r); });
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "client/batch_retry_policy.h"
#include "client/job_list_reader.h"
#include "client/ota_client.h"
#include "client/results_log.h"
#include "client/retry_sleeper.h"
#include "server/base/clock.h"

namespace ota::client {

inline constexpr int kDefaultBatchConcurrency = 20;
inline constexpr absl::Duration kDefaultTimeoutPerJob = absl::Seconds(60);
// Long enough for `concurrency` queued calls to drain at the gateway's sustained ~8 calls/s.
inline constexpr absl::Duration kDefaultInterruptGrace = absl::Seconds(5);

struct BatchRunnerOptions {
  int concurrency = kDefaultBatchConcurrency;  // calls in flight at most; at least 1
  // Budget of one batch across its attempts; each attempt's deadline is what is left of it.
  absl::Duration timeout_per_job = kDefaultTimeoutPerJob;
  absl::Duration interrupt_grace = kDefaultInterruptGrace;
};

// One CancelByJob attempt with this deadline (OtaClient::CancelByJob in the tool). Called from
// several threads at once.
using CancelCall = std::function<CancelResult(const BatchJob& job, absl::Duration timeout)>;

// Called once per batch that got a result, in finishing order, one at a time.
using ResultSink = std::function<void(const JobResult& result)>;

struct BatchRunReport {
  bool interrupted = false;  // RequestStop() was called before Run returned
  int finished = 0;          // batches with a result from the gateway
  int abandoned = 0;         // still in flight after the grace: reported as INTERRUPTED
  int not_started = 0;
};

class BatchRunner {
 public:
  // `clock` and `sleeper` must outlive the runner and any call still in flight when Run returns.
  BatchRunner(BatchRunnerOptions options, CancelCall cancel, const ota::Clock& clock,
              RetrySleeper& sleeper, BatchRetryPolicy policy = BatchRetryPolicy());
  ~BatchRunner();
  BatchRunner(const BatchRunner&) = delete;
  BatchRunner& operator=(const BatchRunner&) = delete;

  // Runs every job (once; call Run once). Returns when all are done, or after a stop when the
  // calls in flight have finished or the grace is over; calls still in flight then keep running
  // on detached threads, their answers dropped.
  BatchRunReport Run(const std::vector<BatchJob>& jobs, ResultSink sink);

  // Thread-safe; any number of times.
  void RequestStop();

  // Calls in flight now (attempts or retry waits), for progress displays.
  [[nodiscard]] int in_flight() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace ota::client
