#include "server/http/departure_window.h"

#include <algorithm>

namespace ota {

DepartureWindow::DepartureWindow(int limit, absl::Duration window)
    : limit_(static_cast<std::size_t>(std::max(0, limit))), window_(window) {}

bool DepartureWindow::MayStart(absl::Time now) {
  if (!enabled()) return true;
  // The window is (now - window, now]: a departure exactly `window` ago no longer counts.
  while (!departures_.empty() && departures_.front() <= now - window_) departures_.pop_front();
  return departures_.size() + not_left_ < limit_;
}

void DepartureWindow::Started() {
  if (enabled()) ++not_left_;
}

void DepartureWindow::Departed(absl::Time when, bool first) {
  if (!enabled()) return;
  if (first && not_left_ > 0) --not_left_;
  // Departures are reported in order on one thread; keep the deque sorted regardless.
  departures_.insert(std::upper_bound(departures_.begin(), departures_.end(), when), when);
}

void DepartureWindow::Abandoned() {
  if (enabled() && not_left_ > 0) --not_left_;
}

absl::Time DepartureWindow::NextOpening() const {
  const std::size_t counted = departures_.size() + not_left_;
  if (!enabled() || counted < limit_) return absl::InfinitePast();
  // Only departures age out; requests that have not left hold their place until they do.
  if (not_left_ >= limit_) return absl::InfiniteFuture();
  const std::size_t must_age_out = counted - limit_ + 1;  // <= departures_.size() here
  return departures_[must_age_out - 1] + window_;
}

}  // namespace ota
