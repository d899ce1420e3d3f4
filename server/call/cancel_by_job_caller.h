// CancelByJobCaller: anything that can carry one CancelByJob call to its outcome.
//
// The gRPC service talks to this interface rather than to CancelByJobRunner directly, so layers
// such as in-flight de-duplication (inflight_dedup.h) can sit between the two without either
// knowing about the other.
//
//   const ota::CancelByJobCaller& caller = runner;  // or an InflightDedup wrapping it
//   caller.Run({.job_id = "J1"}, deadline, /*is_cancelled=*/nullptr,
//              [](ota::CallResult result) { /* reply */ });
#pragma once

#include <functional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/call/call_outcome.h"
#include "server/limiter/caller_share.h"

namespace ota {

struct CancelByJobParams {
  std::string job_id;
  std::string iot_instance_id;  // empty: not sent
  CallerShare caller = {};      // who asks, for the fair share of the quota (not sent upstream)
};

struct CallResult {
  CallOutcome outcome;
  int attempts = 0;  // upstream requests sent (for a shared call: the shared call's attempts)
  int queries = 0;   // QueryOTAJob requests sent to settle the outcome
  // Answered from the remembered cancellations: nothing was sent, no quota spent.
  bool remembered = false;
  absl::Duration limiter_wait = absl::ZeroDuration();
  // This caller did not start an upstream call of its own: it was answered with the outcome of an
  // identical call already in flight (see inflight_dedup.h). Audit trails record it so that the
  // attempts are not counted twice against the quota.
  bool shared_with_inflight = false;
  // The body of Alibaba's successful answer, for actions whose answer carries data the caller needs
  // (ListOTAJobByFirmware); empty for cancels.
  std::string upstream_body = {};
};

class CancelByJobCaller {
 public:
  using Done = absl::AnyInvocable<void(CallResult)>;
  virtual ~CancelByJobCaller() = default;

  // Starts the call; `done` runs exactly once, on whichever thread finished the call. `params` must
  // have passed ValidateCancelByJobRequest. `is_cancelled` (optional) tells whether the caller has
  // given up, so that work nobody waits for is not sent.
  virtual void Run(CancelByJobParams params, absl::Time deadline,
                   std::function<bool()> is_cancelled, Done done) const = 0;
};

}  // namespace ota
