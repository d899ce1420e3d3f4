// RateLimiter: the account-wide budget every upstream attempt must take a slot from.
//
// Alibaba gives an account 10 CancelOTAStrategyByJob calls per second, shared by all its RAM users
// and so by every gateway replica. The limiter is reservation-based: asking for a slot never blocks
// a thread. The answer is either "your slot starts at time T" (the caller schedules its request for
// T) or, when no slot is free before the caller's latest useful start, "refused, try again after
// D" so the caller can fail fast with RESOURCE_EXHAUSTED instead of waiting to fail.
//
//   limiter.Reserve("account-123", deadline - expected_upstream_latency,
//                   [](absl::StatusOr<ota::Reservation> r) {
//                     if (!r.ok()) { /* the limiter backend itself failed */ }
//                     else if (!r->granted) { /* RESOURCE_EXHAUSTED, RetryInfo = r->retry_after */
//                     } else { /* schedule the attempt at r->start */ }
//                   });
//
// Backends: LocalRateLimiter (in-process, the default). A Redis backend shares one budget across
// replicas.
#pragma once

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

struct Reservation {
  bool granted = false;
  absl::Time start;            // when granted: the earliest time the attempt may be sent
  absl::Duration retry_after;  // when refused: how long until a slot could be had
};

class RateLimiter {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<Reservation>)>;
  virtual ~RateLimiter() = default;

  // Reserves one slot in the budget named `key` that starts no later than `latest_start`. `done` is
  // called exactly once, possibly before Reserve returns, possibly from another thread. A granted
  // reservation is spent whether or not the caller uses it (that keeps the count honest).
  virtual void Reserve(const std::string& key, absl::Time latest_start, Callback done) = 0;

  // Alibaba throttled a call of budget `key` anyway (its arrivals were spaced closer than ours):
  // no slot of `key` starts before `until`, so the budget rests for Alibaba's retry hint instead
  // of spending more attempts on a window Alibaba counts as full. A later `until` extends the
  // pause, an earlier one changes nothing. Never blocks.
  virtual void PauseUntil(const std::string& key, absl::Time until) = 0;

  // One line for start-up logs, e.g. "in-process, 10 calls per 1s window, burst 5, margin 50ms".
  [[nodiscard]] virtual std::string Describe() const = 0;
};

}  // namespace ota
