#include "client/retry_sleeper.h"

namespace ota::client {

bool RealRetrySleeper::SleepFor(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mu_);
  return !wake_.wait_for(lock, absl::ToChronoNanoseconds(delay),
                         [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return interrupted_; });
}

void RealRetrySleeper::Interrupt() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
  }
  wake_.notify_all();
}

}  // namespace ota::client
