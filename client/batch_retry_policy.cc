#include "client/batch_retry_policy.h"

#include <algorithm>

namespace ota::client {

RetryDecision BatchRetryPolicy::Decide(const std::optional<CallError>& failure, int attempts,
                                       absl::Duration budget_left) const {
  if (!failure) return {};
  const CallError& error = *failure;
  absl::Duration delay;
  switch (error.code) {
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // Without RetryInfo the gateway says waiting will not help.
      if (!error.retry_delay) return {};
      delay = *error.retry_delay;
      break;
    case grpc::StatusCode::UNAVAILABLE:
      delay = std::max(error.retry_delay.value_or(absl::ZeroDuration()), backoff_.Delay(attempts));
      break;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (error.reason != "UPSTREAM_TIMEOUT" && error.reason != "SHARED_CALL_TIMEOUT") return {};
      delay = backoff_.Delay(attempts);
      break;
    default:
      return {};
  }
  delay = std::max(delay, absl::ZeroDuration());
  if (delay + kMinAttemptTime > budget_left) return {};
  return {.retry = true, .delay = delay};
}

}  // namespace ota::client
