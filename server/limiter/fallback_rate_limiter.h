// FallbackRateLimiter: what the gateway does when the shared (Redis) limiter is unreachable.
//
//   fail-closed: the call fails with UNAVAILABLE and a message naming the outage; the quota is
//   never
//                at risk, but nothing is served until Redis is back.
//   fail-local:  each replica falls back to an in-process budget of its share of the quota
//                (qps / expected replicas, rounded down), so the fleet as a whole stays under it.
//                The slots Redis granted before the outage are still being spent by every replica,
//                so the local budget starts only one full window (+margin) after the newest of them
//                this replica knows of (for a budget it never saw: after `unknown_pending_horizon`,
//                the longest a slot may be reserved ahead). Local grants are reported back to the
//                shared limiter, which makes Redis place its next slots after them.
// Either way the shared limiter reconnects by itself and is used again as soon as it answers.
//
//   ota::FallbackRateLimiter limiter(std::move(redis_limiter),
//                                    {.mode = ota::RedisFailureMode::kFailLocal,
//                                     .fleet = {.limit = 10, .burst = 5}, .expected_replicas = 3},
//                                    ota::SystemClock::Get());
//   limiter.WatchHealth([](bool degraded, const std::string& detail) { /* health + log */ });
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/shared_rate_limiter.h"

namespace ota {

enum class RedisFailureMode { kFailClosed, kFailLocal };

// "fail-closed" or "fail-local"; INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<RedisFailureMode> ParseRedisFailureMode(absl::string_view text);
[[nodiscard]] absl::string_view RedisFailureModeName(RedisFailureMode mode);

struct FallbackOptions {
  RedisFailureMode mode = RedisFailureMode::kFailClosed;
  RateLimitOptions fleet;     // the whole account's budget
  int expected_replicas = 1;  // replicas sharing it (fail-local divides the budget by this)
  absl::Duration unknown_pending_horizon = absl::Seconds(30);
};

// One replica's share of `fleet`: limit and burst divided by `replicas` (at least 1 each).
[[nodiscard]] RateLimitOptions LocalShare(const RateLimitOptions& fleet, int replicas);

class FallbackRateLimiter final : public RateLimiter {
 public:
  // `degraded` true while the shared limiter is unreachable; `detail` says why and what the
  // failure mode does meanwhile.
  using HealthListener = std::function<void(bool degraded, const std::string& detail)>;

  FallbackRateLimiter(std::unique_ptr<SharedRateLimiter> shared, FallbackOptions options,
                      const Clock& clock);
  // Stops the shared limiter first: the answers it still owes come back through this object.
  ~FallbackRateLimiter() override;
  FallbackRateLimiter(const FallbackRateLimiter&) = delete;
  FallbackRateLimiter& operator=(const FallbackRateLimiter&) = delete;

  void Reserve(const std::string& key, absl::Time latest_start, Callback done) override;
  // Pauses the shared budget (for the fleet) and this replica's local one (used while Redis is
  // unreachable, and by budgets made later).
  void PauseUntil(const std::string& key, absl::Time until) override;
  [[nodiscard]] std::string Describe() const override;

  // Calls `listener` now and on every change of the shared limiter's reachability.
  void WatchHealth(HealthListener listener);

 private:
  // A clock that never reads earlier than a floor: the local budget then places its first slots
  // at the floor, and behaves normally once real time has passed it.
  class FlooredClock final : public Clock {
   public:
    explicit FlooredClock(const Clock& base) : base_(base) {}
    [[nodiscard]] absl::Time Now() const override;
    void Raise(absl::Time floor);
    [[nodiscard]] absl::Time floor() const;

   private:
    const Clock& base_;
    mutable std::mutex mu_;
    absl::Time floor_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  };
  struct LocalBudget {
    LocalBudget(const Clock& base, const RateLimitOptions& share)
        : clock(base), limiter(share, clock) {}
    FlooredClock clock;
    LocalRateLimiter limiter;
  };

  void ReserveLocally(const std::string& key, absl::Time latest_start, Callback done);
  [[nodiscard]] std::string ModeDetail() const;

  std::unique_ptr<SharedRateLimiter> shared_;
  const FallbackOptions options_;
  const RateLimitOptions share_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<LocalBudget>> local_ ABSL_GUARDED_BY(mu_);
  // Pauses not yet over, for local budgets made after them.
  absl::flat_hash_map<std::string, absl::Time> paused_until_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
