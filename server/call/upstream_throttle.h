// UpstreamThrottle: whether Alibaba throttled an attempt, and for how long the account's budget
// should then rest.
//
// The limiter spaces attempts so that Alibaba never counts more than its quota in a second, but
// Alibaba counts arrivals, which network and front-end jitter can bunch up. When it throttles
// anyway, its window is full by its own count: the budget pauses for the retry hint (every replica
// when the budget is shared) rather than spend more attempts into that window.
//
//   if (std::optional<absl::Duration> pause = ota::ThrottlePause(outcome)) {
//     limiter.PauseUntil(key, now + *pause);
//   }
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "server/call/call_outcome.h"

namespace ota {

// When Alibaba answered with a throttle (a Throttling code, HTTP 429, or HTTP 503 with a retry
// hint), how long to pause the budget: its retry hint, or one quota window without one. nullopt
// for every other outcome (successes, business errors, transport errors, a 503 without a hint).
[[nodiscard]] std::optional<absl::Duration> ThrottlePause(const CallOutcome& outcome);

}  // namespace ota
