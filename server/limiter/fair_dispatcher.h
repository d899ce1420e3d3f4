// FairDispatcher: shares the account's slots between competing callers in proportion to their
// shares, in front of the RateLimiter that keeps the account's quota.
//
// The backend limiter (in process, or Redis for the fleet) decides *when* a slot is free; this
// decides *who* gets it. Calls wait here, in one queue per caller and budget key, and the
// dispatcher asks the backend for a slot only just in time: when one is free within `lookahead`
// (plus at most `hold_ahead` slots further ahead). So a flood queued on one replica holds at most
// that much of the future, and a caller arriving at another replica gets the next slot after it
// instead of the slot after the whole flood.
//
// Order: start-time fair queueing. A caller's waiting call gets the start tag
// max(virtual time, that caller's previous finish tag) and finish tag start + 1/share; the free
// slot goes to the smallest start tag (first come first served within a caller and on ties), and
// the virtual time becomes that tag. Under saturation callers get slots in proportion to their
// shares; an idle caller's share goes to the busy ones (work-conserving); a caller that was idle
// starts at the current virtual time, so its lone call gets the next free slot however many calls
// others have queued, and it earns no credit for having been idle.
//
// Backend failures (Redis unreachable, fail-closed): calls that arrived after the backend's last
// healthy answer get the failure when it is seen (at once once it is known); calls that were
// already waiting keep their place and are tried again every 100 ms, as a slot reserved before the
// outage would still have been used, and get the failure when they can wait no longer.
//
// Deadlines: at arrival the dispatcher estimates when the call would start (the next free slot,
// plus the calls ordered before it at the budget's sustained rate); one that cannot start before
// `latest_start` is refused at once, with retry_after = that estimate (so it reflects the caller's
// own share, not the whole queue). A later arrival with an earlier tag pushes queued calls back:
// they are estimated again shortly after such arrivals and at every free slot, and refused as soon
// as they cannot make it. A caller with `max_queued` calls waiting is refused at once
// (caller_queue_full).
//
//   ota::FairDispatcher dispatcher(backend, scheduler, clock, {.rate = fleet});
//   dispatcher.Reserve("account-123", {.name = "on-call", .share = 3, .max_queued = 0}, latest,
//                      [](absl::StatusOr<ota::Reservation> r, bool caller_queue_full) {...});
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/scheduler.h"
#include "server/limiter/caller_share.h"
#include "server/limiter/rate_limit_options.h"
#include "server/limiter/rate_limiter.h"

namespace ota {

struct FairDispatcherOptions {
  RateLimitOptions rate;  // the budget's rules: how fast queued calls are estimated to start
  // How far ahead of a slot's start the backend is asked for it: covers the round trip to Redis
  // and timer lateness, and is all of the future one replica holds while others wait.
  absl::Duration lookahead = absl::Milliseconds(25);
  // Slots beyond `lookahead` this dispatcher may hold for its waiting calls (0: none). With a
  // budget shared by replicas (Redis), 1: a replica whose queue was empty reserves its caller's
  // slot at arrival, so it gets the next slot free in the fleet instead of racing a flooded replica
  // for every slot as it comes up; and a flooded replica still holds at most one slot of the
  // future.
  int hold_ahead = 0;
  int default_max_queued = 2500;  // per caller and budget, for callers without max_queued
  // After an arrival pushed queued calls back, how soon they are estimated again (batched, so a
  // burst of arrivals costs one pass over the queue, not one each).
  absl::Duration recheck_delay = absl::Milliseconds(10);
};

class FairDispatcher {
 public:
  // `reservation` as from RateLimiter::Reserve (not ok: the backend failed); refused with
  // `caller_queue_full` when the caller already had its maximum of calls waiting.
  using Callback =
      absl::AnyInvocable<void(absl::StatusOr<Reservation> reservation, bool caller_queue_full)>;

  // `backend`, `scheduler` and `clock` must outlive the dispatcher and every answer it still owes.
  FairDispatcher(RateLimiter& backend, Scheduler& scheduler, const Clock& clock,
                 FairDispatcherOptions options);
  // Calls still waiting are dropped unanswered (their owners answer them as shut down).
  ~FairDispatcher();
  FairDispatcher(const FairDispatcher&) = delete;
  FairDispatcher& operator=(const FairDispatcher&) = delete;

  // Queues one call of `caller` for a slot of budget `key` starting no later than `latest_start`.
  // `done` runs exactly once, possibly before Reserve returns, from any thread.
  void Reserve(const std::string& key, const CallerShare& caller, absl::Time latest_start,
               Callback done);

  // Calls of `caller` waiting in budget `key` (for tests and probes).
  [[nodiscard]] std::size_t Queued(const std::string& key, const std::string& caller) const;

  // One line for start-up logs.
  [[nodiscard]] std::string Describe() const;

 private:
  class Core;
  std::shared_ptr<Core> core_;
};

}  // namespace ota
