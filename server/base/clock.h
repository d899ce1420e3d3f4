// Clock: where time comes from.
//
// Everything that reads the time (the rate limiter, the signer's timestamp, deadlines) takes a
// `Clock&` so tests can run on simulated time instead of sleeping:
//
//   ota::FakeClock clock(absl::FromUnixSeconds(1700000000));
//   ota::LocalRateLimiter limiter(options, clock);
//   clock.Advance(absl::Milliseconds(100));
#pragma once

#include <mutex>

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

// A clock that only moves when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  [[nodiscard]] absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace ota
