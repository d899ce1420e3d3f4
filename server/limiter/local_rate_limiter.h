// LocalRateLimiter: the in-process RateLimiter, one budget per key, shared by every call in this
// process.
//
// Alibaba counts calls per second, so the budget is "at most `limit` attempts in any `window`"
// (10 per 1s). Two rules place each reservation, in arrival order (FIFO, so waiters are served
// fairly):
//   1. window rule: a slot starts no earlier than `window + margin` after the slot `limit` places
//      before it. The margin absorbs network jitter between our send time and Alibaba's receive
//      time: slots spaced exactly 1/qps apart can still arrive 11 to a second at the far end.
//   2. burst rule: at most `burst` slots start within any `burst * window / limit` span, so a busy
//      second is spread out instead of sent as one spike.
// Sustained throughput is limit / (window + margin): 9.52/s for 10 per 1s with a 50ms margin.
//
// Budgets that have been idle for longer than `window + margin` no longer constrain anything and
// are dropped from time to time, so memory stays bounded however many keys come and go.
//
//   ota::LocalRateLimiter limiter({.limit = 10, .burst = 5}, ota::SystemClock::Get());
//   ota::Reservation r = limiter.ReserveNow("account-123", deadline);
//   if (r.granted) { /* send at r.start */ }
//   else { /* RESOURCE_EXHAUSTED; a slot frees up in r.retry_after */ }
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "server/base/clock.h"
#include "server/limiter/rate_limit_options.h"
#include "server/limiter/rate_limiter.h"

namespace ota {

class LocalRateLimiter final : public RateLimiter {
 public:
  // `options` must be valid (see ValidateRateLimitOptions).
  LocalRateLimiter(RateLimitOptions options, const Clock& clock);

  void Reserve(const std::string& key, absl::Time latest_start, Callback done) override;
  void PauseUntil(const std::string& key, absl::Time until) override;
  [[nodiscard]] std::string Describe() const override;

  // Synchronous form of Reserve, for tests and benchmarks.
  [[nodiscard]] Reservation ReserveNow(const std::string& key, absl::Time latest_start);

  // How many keys currently hold a budget (idle ones included until the next sweep): the memory
  // the limiter holds, which sweeping idle keys keeps bounded however many keys pass through.
  [[nodiscard]] std::size_t TrackedKeys();

 private:
  struct Budget {
    // Start times of the last `limit` granted slots, oldest first (empty only for a budget that
    // was paused before it granted anything).
    std::deque<absl::Time> starts;
    // No slot starts before this (PauseUntil).
    absl::Time paused_until = absl::InfinitePast();
  };

  // The earliest start the rules allow for the next slot of `budget`.
  [[nodiscard]] absl::Time EarliestStart(const Budget& budget, absl::Time now) const;
  // Drops budgets whose every slot is old enough to constrain nothing any more.
  void SweepIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimitOptions options_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, Budget> budgets_ ABSL_GUARDED_BY(mu_);
  // Reservations left before the next sweep of idle budgets.
  std::int64_t reservations_until_sweep_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace ota
