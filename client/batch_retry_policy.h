// BatchRetryPolicy: whether `ota-cancel batch` tries a batch's cancel again, and after how long.
//
// Retrying is safe because CancelByJob is idempotent (a repeat answers OK ALREADY_CANCELLED).
// It is worth it only for answers that can change with time:
//   RESOURCE_EXHAUSTED with RetryInfo  after the advertised delay (the gateway's quota is full);
//   UNAVAILABLE                        after max(RetryInfo, exponential backoff with jitter);
//   DEADLINE_EXCEEDED UPSTREAM_TIMEOUT or SHARED_CALL_TIMEOUT (nothing applied, or the identical
//                                      call's answer was missed): after backoff.
// Everything else is final for this run. A retry is only made when the batch's time budget
// (--timeout-per-job) still leaves kMinAttemptTime after the delay, so the last answer recorded
// is a real one rather than a deadline the client set itself.
//
//   BatchRetryPolicy policy;
//   RetryDecision next = policy.Decide(result.error, attempts, budget_left);
//   if (next.retry) Sleep(next.delay);
#pragma once

#include <functional>
#include <optional>

#include "absl/time/time.h"
#include "client/ota_client.h"
#include "server/base/backoff.h"

namespace ota::client {

// The least time worth giving an attempt: the gateway answers DEADLINE_TOO_SHORT below ~100 ms
// and needs a few hundred for Alibaba's answer.
inline constexpr absl::Duration kMinAttemptTime = absl::Seconds(1);

// Backoff for UNAVAILABLE: 0.5 s, 1 s, 2 s, 4 s cap, half jitter (a restarting gateway comes back
// in seconds; the many workers that failed together must not return together).
inline constexpr ota::BackoffPolicy kUnavailableBackoff{
    .initial = absl::Milliseconds(500), .max = absl::Seconds(4), .jitter = 0.5};

struct RetryDecision {
  bool retry = false;
  absl::Duration delay{};
};

class BatchRetryPolicy {
 public:
  explicit BatchRetryPolicy(std::function<double()> random = ota::UniformFraction)
      : backoff_(kUnavailableBackoff, std::move(random)) {}

  // `attempts`: attempts made so far (1 after the first); `budget_left`: what remains of the
  // batch's --timeout-per-job now.
  [[nodiscard]] RetryDecision Decide(const std::optional<CallError>& error, int attempts,
                                     absl::Duration budget_left) const;

 private:
  ota::Backoff backoff_;
};

}  // namespace ota::client
