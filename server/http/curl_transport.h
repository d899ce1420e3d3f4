// CurlTransport: the production HttpTransport and Scheduler, one libcurl multi event loop.
//
// One thread runs curl_multi_poll; requests and timers are handed to it through a queue and
// curl_multi_wakeup, so no thread is ever parked per call. Connections are kept alive and reused
// (the multi handle's connection cache), TLS peers and host names are always verified, every
// easy handle sets CURLOPT_NOSIGNAL, and connect/total timeouts are bounded. With a departure
// limit set, requests are also paced on when they actually leave (DepartureWindow).
//
//   ota::CurlTransport transport({.connect_timeout = absl::Seconds(3)});
//   transport.Send(request, absl::Now() + absl::Seconds(5),
//                  [](absl::StatusOr<ota::HttpResponse> reply) { ... });
//   transport.RunAt(absl::Now() + absl::Milliseconds(100), [] { ... });
//
// Threading: Send, RunAt and stats may be called from any thread, including from inside a
// callback or task. Every callback and task runs on the single loop thread, so they must be quick
// and must never block (no waiting on another Send's result): a slow callback stalls all I/O and
// all timers. A callback or task must not destroy the transport (the destructor joins the loop
// thread it would be running on).
//
// What goes on the wire: the request's headers exactly as given (an empty value is still sent),
// plus Host (unless the request sets its own) and Content-Length for POST. curl's own defaults that
// the signer did not ask for (Accept, Expect: 100-continue, a form Content-Type) are suppressed.
// Redirects are not followed; only http and https URLs are accepted. curl's usual proxy
// environment variables (https_proxy, no_proxy) are honoured.
//
// Errors given to Send's callback:
//   DEADLINE_EXCEEDED  the caller's deadline passed (before sending, waiting for the departure
//                      window, or waiting for a reply)
//   UNAVAILABLE        connect/TLS/DNS/reset failures, a per-attempt timeout
//                      (request_timeout) below the deadline, or a body over max_response_bytes
//   INVALID_ARGUMENT   a method other than GET/POST, or a header containing CR/LF
//   INTERNAL           the URL is unusable (malformed, not http/https) or curl setup failed
//   CANCELLED          the transport was destroyed before the reply came
// Messages never contain the URL's query string (it carries the AccessKeyId and signature).
// Every failure carries its AttemptStage (attempt_stage.h): kNeverSent when no byte of the request
// was written (DNS, connect, TLS, held by pacing, refused up front), else kSentWithoutAnswer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/scheduler.h"
#include "server/http/http_transport.h"
#include "server/http/transport_options.h"

namespace ota {

class CurlTransport final : public HttpTransport, public Scheduler {
 public:
  // Counters since construction, for tests and benchmarks. Read without stopping the loop, so
  // the fields are each exact but not a consistent snapshot of one instant.
  struct Stats {
    std::uint64_t requests_started = 0;     // handed to curl (excludes ones rejected up front)
    std::uint64_t requests_completed = 0;   // Send callbacks run, with any outcome
    std::uint64_t connections_opened = 0;   // new TCP connections curl had to open
    std::uint64_t held_for_departures = 0;  // requests that waited for the departure window
  };

  explicit CurlTransport(CurlTransportOptions options);
  // Stops the loop and joins its thread. Requests still in flight or queued complete with
  // CANCELLED (on the loop thread, before the destructor returns); timer tasks not yet due are
  // destroyed without running. Other threads must have stopped calling Send/RunAt before this
  // starts; callbacks running during shutdown may still call them (a Send then completes at once
  // with CANCELLED, a RunAt task is dropped).
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void Send(HttpRequest request, absl::Time deadline, Callback done) override;
  void RunAt(absl::Time when, Task task) override;

  [[nodiscard]] Stats stats() const;

 private:
  struct Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace ota
