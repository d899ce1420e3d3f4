// PendingCalls: the calls the gRPC service has accepted and not yet answered.
//
// It does two jobs that both need the set of open calls:
//   - Overload protection: at most `max_pending` calls are held at once (each one is a timer or a
//     transfer plus its gRPC state). A call beyond that is refused at once with
//     RESOURCE_EXHAUSTED / GATEWAY_OVERLOADED (see OverloadedOutcome) instead of queueing without
//     bound.
//   - The end of a graceful shutdown: when the drain timeout runs out, AnswerAll answers every
//     call still open (UNAVAILABLE / GATEWAY_SHUTTING_DOWN), so no accepted caller is left to
//     silence. The answer that comes later from the call itself is then dropped.
//
// Each call is answered exactly once, whichever comes first. Thread-safe; hold it in a
// shared_ptr so late answers (after the service is gone) are safe.
//
//   auto pending = std::make_shared<ota::PendingCalls>(10000);
//   std::shared_ptr<ota::PendingCalls::Ticket> ticket = pending->Admit(reply_fn);
//   if (ticket == nullptr) { /* reply OverloadedOutcome(...) */ }
//   runner.Run(..., [pending, ticket](CallResult r) { pending->Answer(*ticket, std::move(r)); });
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "server/call/cancel_by_job_caller.h"

namespace ota {

class PendingCalls {
 public:
  using Reply = absl::AnyInvocable<void(CallResult)>;
  struct Ticket {
    std::uint64_t id = 0;
    Reply reply;
  };

  explicit PendingCalls(std::int64_t max_pending);

  // Registers a call that will be answered through `reply`; nullptr (and `reply` is dropped
  // unused) when max_pending calls are already open or Close() was called.
  [[nodiscard]] std::shared_ptr<Ticket> Admit(Reply reply);

  // Answers the call unless it was answered already; returns whether this answer was the one.
  bool Answer(Ticket& ticket, CallResult result);

  // Whether the caller no longer needs an answer: the call was answered already, or
  // `caller_gone` (asked while the call is known to be open, so it may read the call's gRPC
  // context, which an answered call no longer has) says it cancelled.
  [[nodiscard]] bool GaveUp(const Ticket& ticket, const std::function<bool()>& caller_gone) const;

  // Answers every open call with `result`; returns how many there were.
  std::int64_t AnswerAll(const CallResult& result);

  // From now on Admit refuses every call (shutdown: the calls already open may finish).
  void Close();
  [[nodiscard]] bool closed() const;

  [[nodiscard]] std::int64_t pending() const;
  [[nodiscard]] std::int64_t max_pending() const { return max_pending_; }
  // Calls refused because max_pending calls were open.
  [[nodiscard]] std::uint64_t rejected() const;

 private:
  const std::int64_t max_pending_;
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;                                         // guarded by mu_
  absl::flat_hash_map<std::uint64_t, std::shared_ptr<Ticket>> open_;  // guarded by mu_
  std::uint64_t rejected_ = 0;                                        // guarded by mu_
  bool closed_ = false;                                               // guarded by mu_
};

// RESOURCE_EXHAUSTED / GATEWAY_OVERLOADED, retryable, telling the caller how full the gateway is.
[[nodiscard]] CallOutcome OverloadedOutcome(std::int64_t max_pending);

// UNAVAILABLE / GATEWAY_SHUTTING_DOWN, retryable: the drain timeout ran out before the call did.
[[nodiscard]] CallOutcome ShuttingDownOutcome();

// UNAVAILABLE / GATEWAY_SHUTTING_DOWN, retryable: a new call arrived while the gateway drains.
[[nodiscard]] CallOutcome NotAcceptingOutcome();

}  // namespace ota
