// ProgressReporter: the progress of `ota-cancel batch` on stderr.
//
// On a terminal, one live line redrawn every kLiveRedrawInterval:
//   17/250   6.8%  8.1/s  ETA 29s  cancelled 15  NOT_FOUND 2
// Without one (a log, CI), the same text as a plain line every kPlainLineInterval, so logs stay
// readable. The clock is injected: Tick() decides from it whether to draw, and tests drive it on
// simulated time; ProgressThread calls Tick() in the tool.
//
//   ProgressReporter progress(std::cerr, isatty(2), clock, [&] { return tally.Snapshot(); });
//   ProgressThread thread(progress);  // ticks until destroyed, then draws the final state
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "client/batch_tally.h"
#include "server/base/clock.h"

namespace ota::client {

inline constexpr absl::Duration kLiveRedrawInterval = absl::Milliseconds(200);
inline constexpr absl::Duration kPlainLineInterval = absl::Seconds(5);

// "17/250   6.8%  8.1/s  ETA 29s  cancelled 15  NOT_FOUND 2"; rate and ETA read "--" until
// the first result.
[[nodiscard]] std::string FormatProgressLine(const TallySnapshot& tally, absl::Duration elapsed);

class ProgressReporter {
 public:
  ProgressReporter(std::ostream& out, bool live, const ota::Clock& clock,
                   std::function<TallySnapshot()> snapshot);

  // Draws if the interval since the last drawing has passed (the first Tick always draws).
  void Tick();
  // Draws the final state; a live line is ended with a newline so the summary starts below it.
  void Finish();

 private:
  void Draw(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  std::ostream& out_ ABSL_GUARDED_BY(mu_);
  const bool live_;
  const ota::Clock& clock_;
  const std::function<TallySnapshot()> snapshot_;
  const absl::Time start_;
  absl::Time last_drawn_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Calls Tick() several times a second on a thread of its own; Finish() when destroyed.
class ProgressThread {
 public:
  explicit ProgressThread(ProgressReporter& reporter);
  ~ProgressThread();
  ProgressThread(const ProgressThread&) = delete;
  ProgressThread& operator=(const ProgressThread&) = delete;

 private:
  ProgressReporter& reporter_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace ota::client
