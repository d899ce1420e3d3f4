// AcceptStampingPool: iot-emulator's HTTP worker pool, which remembers when each connection was
// accepted, so that a request's arrival is recorded as the moment it reached the process and not
// the moment a worker got round to it.
//
// The emulator is the tests' measuring instrument for "how many calls did Alibaba see in one
// second". cpp-httplib accepts a connection on its listening thread and queues it for a worker;
// a worker then serves that connection alone until it closes. When every worker is busy, a new
// connection's first request waits in that queue, and a clock read in the handler would record it
// late by the wait, showing bunches the client never sent. So each connection is stamped when it
// is queued, the wait is measured when a worker takes it, and the first request's arrival is the
// moment it was read minus that wait. (That assumes its bytes were there when the worker took the
// connection, as they are for clients that send at once after connecting; one that connects early
// and sends later is recorded up to that wait early.) Later requests on the connection are read by
// a worker that was already waiting for them, so the moment they are read is when they arrived.
//
//   server.new_task_queue = [&] { return new ota::AcceptStampingPool(128, clock); };
//   // in a handler, on the worker thread serving the request:
//   ota::RequestArrival arrival = ota::AcceptStampingPool::ArrivalOfCurrentRequest(clock.Now());
#pragma once

#include <cstddef>

#include "absl/time/time.h"
#include "httplib.h"
#include "server/base/clock.h"

namespace ota {

struct RequestArrival {
  absl::Time received;          // when the request reached the process
  bool new_connection = false;  // the first request of its connection
};

class AcceptStampingPool final : public httplib::TaskQueue {
 public:
  // `threads` workers, each serving one connection at a time.
  AcceptStampingPool(std::size_t threads, const Clock& clock);

  // httplib calls these from its listening thread (enqueue: one accepted connection) and at stop.
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  // For the request the calling worker thread is serving, whose headers were read at `read_at`.
  // The first call for a connection's first request reports it as new and takes off the time the
  // connection waited for a worker; later calls, and threads outside any pool, get `read_at`.
  [[nodiscard]] static RequestArrival ArrivalOfCurrentRequest(absl::Time read_at);

 private:
  const Clock& clock_;
  httplib::ThreadPool workers_;
};

}  // namespace ota
