// SharedRateLimiter: a RateLimiter whose budget lives outside this process (Redis) and so can be
// unreachable, plus what a local fallback needs to stay under the account's quota meanwhile.
//
// While the shared store is unreachable, Reserve answers UNAVAILABLE at once. Slots it granted
// before the outage are still being spent by every replica, so a fallback must not start its own
// budget before the newest granted start it knows of; and slots the fallback grants must be
// reported back, so that the shared store, once reachable again, does not hand them out a second
// time.
//
//   ota::SharedRateLimiter& shared = redis_limiter;
//   shared.WatchConnection([](bool up, const std::string& detail) { /* health, logs */ });
//   std::optional<absl::Time> pending_until = shared.NewestKnownStart("account-123");
//   shared.RecordFallbackGrant("account-123", local_start);
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "server/limiter/rate_limiter.h"

namespace ota {

class SharedRateLimiter : public RateLimiter {
 public:
  // `up` false: Reserve currently fails; `detail` says why (never a password).
  using ConnectionListener = std::function<void(bool up, const std::string& detail)>;

  // The newest slot start (local clock) the shared budget `key` is known to have granted to any
  // replica (fallback grants not included); nullopt when this process never learnt it.
  [[nodiscard]] virtual std::optional<absl::Time> NewestKnownStart(const std::string& key) = 0;

  // Tells the shared limiter that a fallback granted a slot starting at `start` (local clock) for
  // `key`: once reachable again, no shared slot is placed as if that one did not exist.
  virtual void RecordFallbackGrant(const std::string& key, absl::Time start) = 0;

  // Calls `listener` now with the current state, then on every change, from any thread. One
  // listener; a second call replaces the first.
  virtual void WatchConnection(ConnectionListener listener) = 0;
};

}  // namespace ota
