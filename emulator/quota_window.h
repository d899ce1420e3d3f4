// QuotaWindow: Alibaba's per-account API quota as the emulator enforces it.
//
// An account may have at most `qps` calls admitted within any sliding 1-second window: a call is
// admitted when fewer than `qps` calls of the same account were admitted during the second before
// it, otherwise it is throttled (Throttling.User). Throttled calls are not counted, so a client
// that backs off gets through again as soon as the oldest admitted call leaves the window.
// Every AccessKey of one account shares that account's window. qps 0 means unlimited.
// Thread-safe; time comes from the injected Clock so tests run on simulated time.
//
//   ota::QuotaWindow quota(/*qps=*/10, ota::SystemClock::Get());
//   if (!quota.TryAdmit("account-1")) { /* answer Throttling.User */ }
#pragma once

#include <deque>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace ota {

class QuotaWindow {
 public:
  QuotaWindow(int qps, const Clock& clock, absl::Duration window = absl::Seconds(1));

  // Admits (and counts) one call of `account` now, or returns false when it is over quota.
  [[nodiscard]] bool TryAdmit(absl::string_view account);

  // Forgets every admitted call.
  void Reset();

  [[nodiscard]] int qps() const { return qps_; }

 private:
  const int qps_;
  const Clock& clock_;
  const absl::Duration window_;
  std::mutex mu_;
  // Admission times of the calls still inside the window, oldest first.
  absl::flat_hash_map<std::string, std::deque<absl::Time>> admitted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
