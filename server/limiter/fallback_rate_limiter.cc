#include "server/limiter/fallback_rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ota {

absl::StatusOr<RedisFailureMode> ParseRedisFailureMode(absl::string_view text) {
  if (text == "fail-closed") return RedisFailureMode::kFailClosed;
  if (text == "fail-local") return RedisFailureMode::kFailLocal;
  return absl::InvalidArgumentError(
      absl::StrCat("must be fail-closed or fail-local, got '", text, "'"));
}

absl::string_view RedisFailureModeName(RedisFailureMode mode) {
  return mode == RedisFailureMode::kFailClosed ? "fail-closed" : "fail-local";
}

RateLimitOptions LocalShare(const RateLimitOptions& fleet, int replicas) {
  RateLimitOptions share = fleet;
  replicas = std::max(replicas, 1);
  // Rounded down: three replicas at 3 per window stay under 10, at 4 they would not.
  share.limit = std::max(1, fleet.limit / replicas);
  share.burst = std::clamp(fleet.burst / replicas, 1, share.limit);
  return share;
}

absl::Time FallbackRateLimiter::FlooredClock::Now() const {
  const absl::Time now = base_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  return std::max(now, floor_);
}

void FallbackRateLimiter::FlooredClock::Raise(absl::Time floor) {
  std::lock_guard<std::mutex> lock(mu_);
  floor_ = std::max(floor_, floor);
}

absl::Time FallbackRateLimiter::FlooredClock::floor() const {
  std::lock_guard<std::mutex> lock(mu_);
  return floor_;
}

FallbackRateLimiter::FallbackRateLimiter(std::unique_ptr<SharedRateLimiter> shared,
                                         FallbackOptions options, const Clock& clock)
    : shared_(std::move(shared)),
      options_(options),
      share_(LocalShare(options.fleet, options.expected_replicas)),
      clock_(clock) {}

FallbackRateLimiter::~FallbackRateLimiter() { shared_.reset(); }

std::string FallbackRateLimiter::ModeDetail() const {
  if (options_.mode == RedisFailureMode::kFailClosed) {
    return "fail-closed: calls fail with UNAVAILABLE until Redis answers again";
  }
  return absl::StrCat("fail-local: each replica uses an in-process budget of ", share_.limit,
                      " calls per ", absl::FormatDuration(share_.window), " (",
                      options_.fleet.limit, " / ", options_.expected_replicas,
                      " expected replicas) until Redis answers again");
}

std::string FallbackRateLimiter::Describe() const {
  return absl::StrCat(shared_->Describe(), "; when Redis is unreachable: ", ModeDetail());
}

void FallbackRateLimiter::WatchHealth(HealthListener listener) {
  shared_->WatchConnection(
      [listener = std::move(listener), mode = ModeDetail()](bool up, const std::string& detail) {
        if (up) {
          listener(false, "Redis reachable: the shared budget is in use");
        } else {
          listener(true, absl::StrCat("Redis unreachable (", detail, "); ", mode));
        }
      });
}

void FallbackRateLimiter::Reserve(const std::string& key, absl::Time latest_start, Callback done) {
  shared_->Reserve(key, latest_start,
                   [this, key, latest_start,
                    done = std::move(done)](absl::StatusOr<Reservation> reservation) mutable {
                     if (reservation.ok()) return std::move(done)(std::move(reservation));
                     if (options_.mode == RedisFailureMode::kFailClosed) {
                       return std::move(done)(absl::UnavailableError(absl::StrCat(
                           reservation.status().message(),
                           " (--redis-failure-mode=fail-closed: no call is sent until the shared "
                           "budget is reachable again; retry later)")));
                     }
                     ReserveLocally(key, latest_start, std::move(done));
                   });
}

void FallbackRateLimiter::PauseUntil(const std::string& key, absl::Time until) {
  shared_->PauseUntil(key, until);
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_.Now();
  // Forget pauses that are over, so the map holds only what still matters.
  absl::erase_if(paused_until_, [&](const auto& entry) { return entry.second <= now; });
  absl::Time& paused = paused_until_[key];
  paused = std::max(paused, until);
  if (auto it = local_.find(key); it != local_.end()) it->second->limiter.PauseUntil(key, paused);
}

void FallbackRateLimiter::ReserveLocally(const std::string& key, absl::Time latest_start,
                                         Callback done) {
  const absl::Time now = clock_.Now();
  const std::optional<absl::Time> pending_until = shared_->NewestKnownStart(key);
  LocalBudget* budget = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<LocalBudget>& slot = local_[key];
    const bool fresh = slot == nullptr;
    if (fresh) {
      slot = std::make_unique<LocalBudget>(clock_, share_);
      if (auto paused = paused_until_.find(key); paused != paused_until_.end()) {
        slot->limiter.PauseUntil(key, paused->second);
      }
    }
    budget = slot.get();
    if (pending_until.has_value()) {
      // One full window after the newest shared slot: no window then holds shared and local slots.
      budget->clock.Raise(*pending_until + options_.fleet.window + options_.fleet.margin);
    } else if (fresh) {
      // Nothing known about this budget: other replicas may hold slots reserved up to the longest
      // allowed wait ahead.
      budget->clock.Raise(now + options_.unknown_pending_horizon + options_.fleet.window +
                          options_.fleet.margin);
    }
  }
  Reservation reservation = budget->limiter.ReserveNow(key, latest_start);
  if (reservation.granted) {
    shared_->RecordFallbackGrant(key, reservation.start);
  } else {
    // The local budget measured its wait from the floor, not from now.
    reservation.retry_after += std::max(absl::ZeroDuration(), budget->clock.floor() - now);
  }
  std::move(done)(reservation);
}

}  // namespace ota
