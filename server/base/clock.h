// Clock: where time comes from.
//
// Everything that reads the time (the rate limiter, the signer's timestamp, deadlines) takes a
// `Clock&` so tests can run on simulated time instead of sleeping:
//
//   ota::testing::FakeClock clock(absl::FromUnixSeconds(1700000000));  //
//   server/testing/fake_clock.h ota::LocalRateLimiter limiter(options, clock);
//   clock.Advance(absl::Milliseconds(100));
#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ota {

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual absl::Time Now() const = 0;
};

// The real wall clock.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] absl::Time Now() const override { return absl::Now(); }
  // A process-wide instance, for production wiring.
  static SystemClock& Get();
};

}  // namespace ota
