// ManualScheduler: a Scheduler for tests on a testing::FakeClock. Tasks run only when the test
// advances time with RunUntil/RunAll, in time order (ties in the order they were scheduled), and
// the clock is moved to each task's time before it runs, so code under test sees the time it asked
// for.
//
//   ota::testing::FakeClock clock(start);
//   ota::testing::ManualScheduler scheduler(clock);
//   scheduler.RunAt(start + absl::Seconds(1), [] { /* ... */ });
//   scheduler.RunUntil(start + absl::Seconds(2));   // runs it, clock now start + 2 s
#pragma once

#include <cstddef>
#include <map>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/base/scheduler.h"
#include "server/testing/fake_clock.h"

namespace ota::testing {

class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(testing::FakeClock& clock) : clock_(clock) {}
  void RunAt(absl::Time when, Task task) override {
    tasks_.emplace(std::make_pair(when, sequence_++), std::move(task));
  }
  // Runs everything due up to `until`, moving the clock to each task's time.
  void RunUntil(absl::Time until) {
    while (!tasks_.empty() && tasks_.begin()->first.first <= until) {
      auto node = tasks_.extract(tasks_.begin());
      if (node.key().first > clock_.Now()) clock_.Set(node.key().first);
      node.mapped()();
    }
    if (until != absl::InfiniteFuture() && until > clock_.Now()) clock_.Set(until);
  }
  void RunAll() { RunUntil(absl::InfiniteFuture()); }
  [[nodiscard]] std::vector<absl::Time> PendingTimes() const {
    std::vector<absl::Time> times;
    for (const auto& [key, task] : tasks_) times.push_back(key.first);
    return times;
  }
  [[nodiscard]] std::size_t pending() const { return tasks_.size(); }
  void DropAll() { tasks_.clear(); }

 private:
  testing::FakeClock& clock_;
  std::map<std::pair<absl::Time, int>, Task> tasks_;
  int sequence_ = 0;
};

}  // namespace ota::testing
