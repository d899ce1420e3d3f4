// CountingLimiter: the real in-process limiter (LocalRateLimiter), counting the reservations asked
// of it, so a test sees how many limiter slots a call took without faking the limiter's rules.
//
//   ota::testing::CountingLimiter limiter({.limit = 10}, clock);
//   runner.Run(...);
//   EXPECT_EQ(limiter.reservations, 2);  // one attempt and one retry
//   EXPECT_EQ(limiter.pauses.size(), 1u);  // the budget paused after Alibaba throttled
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/rate_limiter.h"

namespace ota::testing {

class CountingLimiter final : public RateLimiter {
 public:
  CountingLimiter(RateLimitOptions options, const Clock& clock) : limiter_(options, clock) {}
  void Reserve(const std::string& key, absl::Time latest_start, Callback done) override {
    ++reservations;
    limiter_.Reserve(key, latest_start, std::move(done));
  }
  void PauseUntil(const std::string& key, absl::Time until) override {
    pauses.emplace_back(key, until);
    limiter_.PauseUntil(key, until);
  }
  [[nodiscard]] std::string Describe() const override { return limiter_.Describe(); }
  // Takes a slot without counting it, as another caller of the same budget would.
  Reservation ReserveNow(const std::string& key, absl::Time latest_start) {
    return limiter_.ReserveNow(key, latest_start);
  }
  int reservations = 0;
  std::vector<std::pair<std::string, absl::Time>> pauses;  // every PauseUntil, in order

 private:
  LocalRateLimiter limiter_;
};

}  // namespace ota::testing
