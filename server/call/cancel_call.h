// CancelByJobRunner: drives one CancelByJob call, or one ListJobsByFirmware page request, from a
// validated request to its final outcome. Both go the same way; only the Alibaba action, its
// budget and what a cancel adds (remembered cancellations, settling with QueryOTAJob) differ:
//
//   reserve a limiter slot (in the caller's fair share) -> wait for it on the scheduler (a timer,
//   not a parked thread)
//   -> sign with fresh nonce and timestamp -> send -> read Alibaba's answer -> map it
//   -> retry only what retrying can fix (throttling, 5xx, SystemException, network, answers lost
//      after sending), with jittered exponential backoff, honouring x-acs-retry-after, each attempt
//      taking a new slot, never past the caller's deadline. A throttle also pauses the account's
//      budget for the retry hint (RateLimiter::PauseUntil) and is retried within the deadline
//      however many came before.
//   -> settle a lost answer or a business refusal with QueryOTAJob, on its own budget
//      (outcome_resolution.h), and remember the batches found cancelled.
// A batch the remembered cancellations know is answered OK ALREADY_CANCELLED before any of this:
// no slot, no request. A ListOTAJobByFirmware page request takes its slot from its own budget
// (deps.list_limiter, through deps.list_dispatcher), changes nothing at Alibaba, and so is simply
// retried like a cancel, without settling anything; its answer's body comes back in the result.
//
//   ota::CancelByJobRunner runner(deps, policy);
//   runner.Run({.job_id = "J1"}, deadline, /*is_cancelled=*/nullptr,
//              [](ota::CallResult result) { /* reply to the caller */ });
//   runner.List({.firmware_id = "fw-1", .page = 1, .page_size = 200}, deadline, nullptr,
//               [](ota::CallResult result) { /* result.upstream_body */ });
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/base/backoff.h"
#include "server/base/clock.h"
#include "server/base/scheduler.h"
#include "server/call/call_outcome.h"
#include "server/call/cancel_by_job_caller.h"
#include "server/call/cancel_by_job_policy.h"
#include "server/call/error_mapping.h"
#include "server/call/list_jobs_caller.h"
#include "server/credentials/credentials.h"
#include "server/http/http_transport.h"
#include "server/limiter/fair_dispatcher.h"
#include "server/limiter/rate_limiter.h"
#include "server/limiter/remembered_cancellations.h"
#include "server/signing/rpc_signer.h"

namespace ota {

class GatewayMetrics;

// The collaborators a call uses; all must outlive the runner and every call it started.
struct CancelByJobDeps {
  RateLimiter* limiter;
  Scheduler* scheduler;
  HttpTransport* transport;
  CredentialsProvider* credentials;
  const ErrorMapper* errors;
  const Clock* clock;
  GatewayMetrics* metrics = nullptr;  // optional: limiter waits, attempts, upstream latency
  // Optional: shares the limiter's slots fairly between callers (params.caller); without it, slots
  // go first come first served, straight from `limiter`.
  FairDispatcher* dispatcher = nullptr;
  // QueryOTAJob's own budget (Alibaba gives it its own per-account quota), never the cancel's.
  // Null: outcomes that need QueryOTAJob are answered UNAVAILABLE OUTCOME_UNKNOWN.
  RateLimiter* query_limiter = nullptr;
  RememberedCancellations* remembered = nullptr;  // optional
  // ListOTAJobByFirmware's own budget, and the fair share of it between callers (optional, as
  // `dispatcher` is for cancels). Null: ListJobsByFirmware is answered UNAVAILABLE.
  RateLimiter* list_limiter = nullptr;
  FairDispatcher* list_dispatcher = nullptr;
};

class CancelByJobRunner final : public CancelByJobCaller, public ListJobsByFirmwareCaller {
 public:
  using Done = CancelByJobCaller::Done;  // the same type as ListJobsByFirmwareCaller::Done

  CancelByJobRunner(CancelByJobDeps deps, CancelByJobPolicy policy);

  // Starts the call; `done` runs exactly once, on whichever thread finished the call. `params` must
  // have passed ValidateCancelByJobRequest. `is_cancelled` (optional) is asked before each attempt
  // so a call its caller gave up on is not sent.
  void Run(CancelByJobParams params, absl::Time deadline, std::function<bool()> is_cancelled,
           Done done) const override;

  // Starts one ListOTAJobByFirmware page request; as Run, on the list's own budget.
  void List(ListJobsByFirmwareParams params, absl::Time deadline,
            std::function<bool()> is_cancelled, Done done) const override;

  [[nodiscard]] const CancelByJobPolicy& policy() const { return shared_->policy; }

 private:
  struct Route;
  struct Call;
  // What every call reads and none changes. Calls share it rather than copy it: a call may outlive
  // its runner at shutdown, and a copy per call (the policy's strings included) cost each of
  // thousands of queued callers a few hundred bytes.
  struct Shared {
    CancelByJobDeps deps;
    // Full jitter (uniform in [0, cap]), so retries of calls that failed together spread out.
    Backoff backoff;
    CancelByJobPolicy policy;
  };
  std::shared_ptr<const Shared> shared_;
};

}  // namespace ota
