#include "emulator/quota_window.h"

#include <cstddef>

namespace ota {

QuotaWindow::QuotaWindow(int qps, const Clock& clock, absl::Duration window)
    : qps_(qps), clock_(clock), window_(window) {}

bool QuotaWindow::TryAdmit(absl::string_view account) {
  if (qps_ <= 0) return true;
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  std::deque<absl::Time>& times = admitted_[account];
  // A call admitted exactly one window ago no longer shares a window with this one: windows are
  // half-open, (now - window, now].
  while (!times.empty() && times.front() <= now - window_) times.pop_front();
  if (times.size() >= static_cast<std::size_t>(qps_)) return false;
  times.push_back(now);
  return true;
}

void QuotaWindow::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  admitted_.clear();
}

}  // namespace ota
