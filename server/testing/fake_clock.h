// FakeClock: a Clock for tests that moves only when the test moves it, so time-dependent code
// (limiters, refresh schedules, quota windows) is tested on simulated time, never with sleeps.
//
//   ota::testing::FakeClock clock(absl::FromUnixSeconds(1700000000));
//   limiter.Reserve(...);
//   clock.Advance(absl::Milliseconds(100));
#pragma once

#include <mutex>

#include "absl/time/time.h"
#include "server/base/clock.h"

namespace ota::testing {

class FakeClock final : public ota::Clock {
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

}  // namespace ota::testing
