#include "server/call/upstream_throttle.h"

#include <algorithm>

namespace ota {
namespace {

// Alibaba counts its quota per second: after one second without new arrivals its window is empty.
constexpr absl::Duration kPauseWithoutHint = absl::Seconds(1);

}  // namespace

std::optional<absl::Duration> ThrottlePause(const CallOutcome& outcome) {
  const bool throttling_code =
      outcome.domain == kAlibabaDomain && outcome.code == absl::StatusCode::kResourceExhausted;
  const bool too_many_requests = outcome.http_status == 429;
  const bool unavailable_with_hint = outcome.http_status == 503 && outcome.retry_after.has_value();
  if (!throttling_code && !too_many_requests && !unavailable_with_hint) return std::nullopt;
  return std::max(outcome.retry_after.value_or(kPauseWithoutHint), absl::ZeroDuration());
}

}  // namespace ota
