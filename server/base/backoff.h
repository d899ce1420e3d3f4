// Backoff: how long to wait before retry number n, for every retry loop of the gateway (upstream
// attempts, credential refreshes, Redis reconnects): exponential up to a cap, with jitter so that
// the many clients that failed together do not come back together.
//
// The random source is injected, so tests pin the jitter instead of sampling it:
//
//   ota::Backoff backoff({.initial = absl::Milliseconds(100), .max = absl::Seconds(2),
//                         .jitter = 1.0});          // full jitter: uniform in [0, cap]
//   absl::Duration wait = backoff.Delay(attempt);   // attempt 1 = the first retry
//   ota::Backoff pinned(policy, [] { return 0.5; });
#pragma once

#include <functional>

#include "absl/time/time.h"

namespace ota {

struct BackoffPolicy {
  absl::Duration initial = absl::Milliseconds(100);  // the cap of the first retry
  absl::Duration max = absl::Seconds(2);             // no cap grows beyond this
  // The random part of each delay: 1.0 draws it from [0, cap] ("full jitter"), 0.5 from
  // [cap / 2, cap], 0 waits the cap exactly.
  double jitter = 1.0;
};

// Uniform numbers in [0, 1) from a per-thread generator seeded from std::random_device.
[[nodiscard]] double UniformFraction();

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, std::function<double()> random = UniformFraction);

  // The delay before retry `attempt` (1 for the first): cap = min(max, initial * 2^(attempt-1)),
  // delay = cap * (1 - jitter * (1 - random)), with random clamped to [0, 1].
  [[nodiscard]] absl::Duration Delay(int attempt) const;

 private:
  BackoffPolicy policy_;
  std::function<double()> random_;
};

}  // namespace ota
