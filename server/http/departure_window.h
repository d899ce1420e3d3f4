// DepartureWindow: "at most `limit` requests leave for the upstream within any `window`", counted
// on the moments requests actually leave, not on the moments they were scheduled.
//
// The rate limiter hands out slots by schedule, and Alibaba counts arrivals. Between the two lies
// connection set-up: a request that must first open its connection (TCP, then TLS) leaves later
// after its slot than one on a kept-alive connection. A cold first half-second followed by a warm
// third can then put 11 arrivals into one second, and one is throttled. The transport asks this
// window before it hands a request to curl, and tells it when the request left (curl's
// "connected, about to send" moment) or finished without leaving.
//
// A request started but not yet left counts as leaving now: it may leave at any moment. With that,
// any `window` that ends at a departure holds at most `limit` departures.
//
// Not thread-safe: the transport's loop thread owns it. Times are passed in, so tests need no
// clock.
//
//   ota::DepartureWindow window(10, absl::Milliseconds(1025));
//   if (window.MayStart(now)) { window.Started(); /* hand to curl */ }
//   ... window.Departed(when_it_left);   // or window.Abandoned() if it never left
#pragma once

#include <cstddef>
#include <deque>

#include "absl/time/time.h"

namespace ota {

class DepartureWindow {
 public:
  // `limit` 0 means no limit: MayStart is always true and nothing is recorded.
  DepartureWindow(int limit, absl::Duration window);

  [[nodiscard]] bool enabled() const { return limit_ > 0; }

  // Whether one more request may start at `now` without exceeding the limit.
  [[nodiscard]] bool MayStart(absl::Time now);
  // A request was handed to the upstream; it has not left yet.
  void Started();
  // A started request left at `when`. `first` is false when curl sent the same request again on
  // a new connection (a reused one turned out dead): it is counted again, as Alibaba may count it.
  void Departed(absl::Time when, bool first = true);
  // A started request finished without ever leaving (connect or TLS failure, cancelled).
  void Abandoned();

  // The earliest time MayStart can turn true by time passing alone, or InfiniteFuture when only a
  // departure or an abandon can change the answer; InfinitePast when a start is allowed already.
  [[nodiscard]] absl::Time NextOpening() const;

 private:
  const std::size_t limit_;
  const absl::Duration window_;
  std::deque<absl::Time> departures_;  // inside the last `window`, oldest first
  std::size_t not_left_ = 0;           // started, neither departed nor abandoned
};

}  // namespace ota
