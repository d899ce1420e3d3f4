#include "emulator/accept_stamping_pool.h"

#include <utility>

namespace ota {
namespace {

// The connection the calling worker thread is serving.
struct ServedConnection {
  bool in_pool = false;
  bool first_request_pending = false;
  absl::Duration waited_for_worker = absl::ZeroDuration();
};

thread_local ServedConnection served;

}  // namespace

AcceptStampingPool::AcceptStampingPool(std::size_t threads, const Clock& clock)
    : clock_(clock), workers_(threads) {}

void AcceptStampingPool::enqueue(std::function<void()> fn) {
  const absl::Time accepted = clock_.Now();
  workers_.enqueue([this, accepted, fn = std::move(fn)] {
    served = {.in_pool = true,
              .first_request_pending = true,
              .waited_for_worker = clock_.Now() - accepted};
    fn();
    served = {};
  });
}

void AcceptStampingPool::shutdown() { workers_.shutdown(); }

RequestArrival AcceptStampingPool::ArrivalOfCurrentRequest(absl::Time read_at) {
  if (!served.in_pool || !served.first_request_pending) return {.received = read_at};
  served.first_request_pending = false;
  return {.received = read_at - served.waited_for_worker, .new_connection = true};
}

}  // namespace ota
