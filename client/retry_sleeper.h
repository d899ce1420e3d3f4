// RetrySleeper: how `ota-cancel batch` waits before retrying a batch, in a way Ctrl-C can cut
// short. Real time in the tool; simulated time in tests (client/testing/simulated_sleeper.h), so
// the retry and budget rules are tested without sleeping.
//
//   ota::client::RealRetrySleeper sleeper;
//   if (!sleeper.SleepFor(absl::Seconds(2))) return;  // Interrupt() was called: stop waiting
#pragma once

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"

namespace ota::client {

class RetrySleeper {
 public:
  virtual ~RetrySleeper() = default;
  // Waits `delay`; false at once (or as soon as it happens) once Interrupt() was called.
  [[nodiscard]] virtual bool SleepFor(absl::Duration delay) = 0;
  // Ends every current and future SleepFor early. Thread-safe.
  virtual void Interrupt() = 0;
};

class RealRetrySleeper final : public RetrySleeper {
 public:
  [[nodiscard]] bool SleepFor(absl::Duration delay) override;
  void Interrupt() override;

 private:
  std::mutex mu_;
  std::condition_variable wake_;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace ota::client
