#include "client/progress_reporter.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ota::client {
namespace {

// "29s", "4m05s", "1h02m".
std::string ShortDuration(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(absl::Ceil(d, absl::Seconds(1)));
  if (seconds < 60) return absl::StrCat(seconds, "s");
  if (seconds < 3600) return absl::StrFormat("%dm%02ds", seconds / 60, seconds % 60);
  return absl::StrFormat("%dh%02dm", seconds / 3600, (seconds % 3600) / 60);
}

}  // namespace

std::string FormatProgressLine(const TallySnapshot& tally, absl::Duration elapsed) {
  const double percent = tally.total == 0 ? 100.0 : 100.0 * tally.done / tally.total;
  std::string line = absl::StrFormat("%d/%d %5.1f%%", tally.done, tally.total, percent);
  const double seconds = absl::ToDoubleSeconds(elapsed);
  if (tally.done > 0 && seconds > 0) {
    const double rate = tally.done / seconds;
    absl::StrAppend(
        &line, absl::StrFormat("  %.1f/s  ETA %s", rate,
                               ShortDuration(absl::Seconds((tally.total - tally.done) / rate))));
  } else {
    absl::StrAppend(&line, "  --/s  ETA --");
  }
  for (const auto& [outcome, count] : tally.by_outcome) {
    absl::StrAppend(&line, "  ", outcome, " ", count);
  }
  return line;
}

ProgressReporter::ProgressReporter(std::ostream& out, bool live, const ota::Clock& clock,
                                   std::function<TallySnapshot()> snapshot)
    : out_(out), live_(live), clock_(clock), snapshot_(std::move(snapshot)), start_(clock.Now()) {}

void ProgressReporter::Draw(absl::Time now) {
  const std::string line = FormatProgressLine(snapshot_(), now - start_);
  if (live_) {
    // Back to the line's start and clear it: the new text may be shorter.
    out_ << "\r\033[K" << line << std::flush;
  } else {
    out_ << "progress: " << line << "\n" << std::flush;
  }
  last_drawn_ = now;
}

void ProgressReporter::Tick() {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (now - last_drawn_ >= (live_ ? kLiveRedrawInterval : kPlainLineInterval)) Draw(now);
}

void ProgressReporter::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  Draw(clock_.Now());
  if (live_) out_ << "\n" << std::flush;
}

ProgressThread::ProgressThread(ProgressReporter& reporter)
    : reporter_(reporter), thread_([this] {
        std::unique_lock<std::mutex> lock(mu_);
        while (!done_) {
          lock.unlock();
          reporter_.Tick();
          lock.lock();
          wake_.wait_for(lock, std::chrono::milliseconds(100),
                         [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_; });
        }
      }) {}

ProgressThread::~ProgressThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  wake_.notify_all();
  thread_.join();
  reporter_.Finish();
}

}  // namespace ota::client
