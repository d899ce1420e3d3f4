// SimulatedSleeper: a RetrySleeper on a FakeClock. SleepFor moves the clock forward by the delay at
// once and records it, so tests of retry timing and budgets run on simulated time.
//
//   ota::testing::FakeClock clock(absl::UnixEpoch());
//   ota::testing::SimulatedSleeper sleeper(clock);
//   ... runner ...
//   EXPECT_THAT(sleeper.delays(), ElementsAre(absl::Seconds(1)));
#pragma once

#include <mutex>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "client/retry_sleeper.h"
#include "server/testing/fake_clock.h"

namespace ota::testing {

class SimulatedSleeper final : public ota::client::RetrySleeper {
 public:
  explicit SimulatedSleeper(FakeClock& clock) : clock_(clock) {}

  [[nodiscard]] bool SleepFor(absl::Duration delay) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (interrupted_) return false;
    delays_.push_back(delay);
    clock_.Advance(delay);
    return true;
  }
  void Interrupt() override {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }
  [[nodiscard]] std::vector<absl::Duration> delays() const {
    std::lock_guard<std::mutex> lock(mu_);
    return delays_;
  }

 private:
  FakeClock& clock_;
  mutable std::mutex mu_;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<absl::Duration> delays_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota::testing
