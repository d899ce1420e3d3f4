// Scheduler: runs a task at a given time on an event loop, without parking a thread per task.
//
// Calls that wait for their rate-limiter slot are timers on the upstream event loop, so 10,000
// waiting calls cost 10,000 small heap entries, not 10,000 threads.
#pragma once

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace ota {

class Scheduler {
 public:
  using Task = absl::AnyInvocable<void()>;
  virtual ~Scheduler() = default;
  // Runs `task` once, on the scheduler's thread, at or soon after `when` (at once if in the past).
  // Tasks due at the same time run in the order they were added.
  virtual void RunAt(absl::Time when, Task task) = 0;
};

}  // namespace ota
