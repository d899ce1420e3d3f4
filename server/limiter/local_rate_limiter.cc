#include "server/limiter/local_rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ota {
namespace {

// A sweep walks every budget, so the next one comes after as many reservations as budgets were
// left, but at least this many: the cost per reservation stays constant however many keys there
// are, and between sweeps the map at most doubles (plus this many) over the live budgets.
constexpr std::int64_t kMinReservationsBetweenSweeps = 1024;

}  // namespace

LocalRateLimiter::LocalRateLimiter(RateLimitOptions options, const Clock& clock)
    : options_(options), clock_(clock) {}

absl::Time LocalRateLimiter::EarliestStart(const Budget& budget, absl::Time now) const {
  const auto& starts = budget.starts;
  const auto count = static_cast<int>(starts.size());
  absl::Time start = std::max(now, budget.paused_until);
  if (!starts.empty()) {
    // FIFO: never place a slot before one granted earlier, even if the clock stepped back.
    start = std::max(start, starts.back());
  }
  if (count >= options_.limit) {
    start = std::max(start, starts[static_cast<std::size_t>(count - options_.limit)] +
                                options_.window + options_.margin);
  }
  if (count >= options_.burst) {
    start = std::max(start, starts[static_cast<std::size_t>(count - options_.burst)] +
                                options_.burst * options_.window / options_.limit);
  }
  return start;
}

Reservation LocalRateLimiter::ReserveNow(const std::string& key, absl::Time latest_start) {
  std::lock_guard<std::mutex> lock(mu_);
  // Read the clock under the lock so that arrival order and time order agree.
  const absl::Time now = clock_.Now();

  if (--reservations_until_sweep_ <= 0) SweepIdle(now);

  Reservation reservation;
  auto it = budgets_.find(key);
  const absl::Time start = it == budgets_.end() ? now : EarliestStart(it->second, now);
  if (start > latest_start) {
    // Refusals record nothing: a caller that gives up must not push later callers back.
    reservation.granted = false;
    reservation.retry_after = start - now;
    return reservation;
  }
  if (it == budgets_.end()) it = budgets_.try_emplace(key).first;
  auto& starts = it->second.starts;
  starts.push_back(start);
  // Only the last `limit` starts matter to either rule (burst <= limit).
  while (static_cast<int>(starts.size()) > options_.limit) starts.pop_front();
  reservation.granted = true;
  reservation.start = start;
  return reservation;
}

void LocalRateLimiter::Reserve(const std::string& key, absl::Time latest_start, Callback done) {
  // The decision is pure bookkeeping, so it is made at once; the callback runs outside the lock
  // so it may call back into the limiter.
  Reservation reservation = ReserveNow(key, latest_start);
  std::move(done)(reservation);
}

void LocalRateLimiter::PauseUntil(const std::string& key, absl::Time until) {
  std::lock_guard<std::mutex> lock(mu_);
  Budget& budget = budgets_[key];
  budget.paused_until = std::max(budget.paused_until, until);
}

void LocalRateLimiter::SweepIdle(absl::Time now) {
  // Once the newest start is `window + margin` old and any pause is over, both rules allow `now`
  // for the next slot, exactly as for a key never seen: dropping the budget changes no future
  // answer.
  absl::erase_if(budgets_, [&](const auto& entry) {
    const Budget& budget = entry.second;
    return budget.paused_until <= now &&
           (budget.starts.empty() ||
            budget.starts.back() + options_.window + options_.margin <= now);
  });
  reservations_until_sweep_ = std::max<std::int64_t>(kMinReservationsBetweenSweeps,
                                                     static_cast<std::int64_t>(budgets_.size()));
}

std::size_t LocalRateLimiter::TrackedKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  return budgets_.size();
}

std::string LocalRateLimiter::Describe() const {
  return absl::StrCat("in-process: ", options_.limit, " calls per ",
                      absl::FormatDuration(options_.window), " (+",
                      absl::FormatDuration(options_.margin), " margin), burst ", options_.burst);
}

}  // namespace ota
