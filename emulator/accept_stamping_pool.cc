#include "emulator/accept_stamping_pool.h"

#include <cstdint>
#include <utility>

namespace ota {
namespace {

// The connection the calling worker thread is serving (plain fields: a thread_local must not need a
// constructor that could throw).
struct ServedConnection {
  bool in_pool;
  bool first_request_pending;
  std::int64_t waited_for_worker_us;
};

thread_local ServedConnection served{
    .in_pool = false, .first_request_pending = false, .waited_for_worker_us = 0};

}  // namespace

AcceptStampingPool::AcceptStampingPool(std::size_t threads, const Clock& clock)
    : clock_(clock), workers_(threads) {}

void AcceptStampingPool::enqueue(std::function<void()> fn) {
  const absl::Time accepted = clock_.Now();
  workers_.enqueue([this, accepted, fn = std::move(fn)] {
    served = {.in_pool = true,
              .first_request_pending = true,
              .waited_for_worker_us = absl::ToInt64Microseconds(clock_.Now() - accepted)};
    fn();
    served = {.in_pool = false, .first_request_pending = false, .waited_for_worker_us = 0};
  });
}

void AcceptStampingPool::shutdown() { workers_.shutdown(); }

RequestArrival AcceptStampingPool::ArrivalOfCurrentRequest(absl::Time read_at) {
  if (!served.in_pool || !served.first_request_pending) return {.received = read_at};
  served.first_request_pending = false;
  return {.received = read_at - absl::Microseconds(served.waited_for_worker_us),
          .new_connection = true};
}

}  // namespace ota
