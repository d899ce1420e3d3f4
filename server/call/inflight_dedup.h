// InflightDedup: concurrent identical CancelByJob calls share one upstream call.
//
// Two calls are identical when they name the same Alibaba account, JobId and IotInstanceId.
// Cancelling a batch's dynamic policy is idempotent in effect, so while one such call is in
// flight, a second one would only spend quota to learn the same thing (or to be told the batch is
// already cancelled). The first caller (the leader) starts the upstream call; callers that arrive
// while it runs (joiners) wait for it, and everyone gets the same outcome in a reply of their own.
//
// The rules, for callers whose wishes differ:
//   - Cancellation: the shared call is abandoned (before its next attempt) only when every
//     caller attached to it has cancelled or been answered. One caller giving up, the leader
//     included, does not cancel the call for the others.
//   - A joiner whose deadline is earlier than the shared call's gets DEADLINE_EXCEEDED at its own
//     deadline (a timer on the scheduler), not whenever the shared call ends.
//   - A joiner whose deadline is later than the shared call's: if the shared call ends in
//     DEADLINE_EXCEEDED (the leader's deadline ran out) while the joiner still has at least
//     `min_rerun_time` left, the joiner is run again, as a fresh leader or by joining a newer
//     call, instead of inheriting a deadline that was never its own.
//   - Every other outcome (success, Alibaba's errors, throttling, UNAVAILABLE) is handed to all
//     attached callers as it is, with CallResult::shared_with_inflight set for the joiners.
//   - A new caller arriving after the shared call has finished starts a new call: outcomes are
//     not cached.
//
//   ota::InflightDedup dedup(runner, scheduler, clock, [&] { return account_key; });
//   dedup.Run({.job_id = "J1"}, deadline, is_cancelled, [](ota::CallResult r) { ... });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/scheduler.h"
#include "server/call/cancel_by_job_caller.h"

namespace ota {

struct InflightDedupOptions {
  // A joiner is run again after the shared call's deadline ran out only with this much time left.
  absl::Duration min_rerun_time = absl::Milliseconds(100);
};

class InflightDedup final : public CancelByJobCaller {
 public:
  struct Stats {
    std::uint64_t upstream_calls = 0;  // calls handed to the inner caller
    std::uint64_t joined = 0;          // calls that joined one already in flight
    std::uint64_t reruns = 0;          // joiners run again after the shared deadline ran out
  };

  // `inner`, `scheduler` and `clock` must outlive every call started. `account_key` names the
  // Alibaba account a call is made for (the limiter key or the AccessKeyId): calls for different
  // accounts are never merged.
  InflightDedup(const CancelByJobCaller& inner, Scheduler& scheduler, const Clock& clock,
                std::function<std::string()> account_key, InflightDedupOptions options = {});

  void Run(CancelByJobParams params, absl::Time deadline, std::function<bool()> is_cancelled,
           Done done) const override;

  [[nodiscard]] Stats stats() const;
  // Shared calls in flight now.
  [[nodiscard]] std::size_t in_flight() const;

 private:
  struct State;
  // Shared with the callbacks of calls in flight, which may finish after this object is gone
  // (at shutdown the transport answers what is left while being destroyed).
  std::shared_ptr<State> state_;
};

}  // namespace ota
