// CurlTransport: the production HttpTransport and Scheduler, one libcurl multi event loop.
//
// One thread runs curl_multi_poll; requests and timers are handed to it through a queue and
// curl_multi_wakeup, so no thread is ever parked per call. Connections are kept alive and reused
// (the multi handle's connection cache), TLS peers and host names are always verified, every
// easy handle sets CURLOPT_NOSIGNAL, and connect/total timeouts are bounded.
//
//   ota::CurlTransport transport({.connect_timeout = absl::Seconds(3)});
//   transport.Send(request, absl::Now() + absl::Seconds(5), [](absl::StatusOr<ota::HttpResponse> r) {...});
//   transport.RunAt(absl::Now() + absl::Milliseconds(100), [] {...});
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/http_transport.h"
#include "server/scheduler.h"

namespace ota {

struct CurlTransportOptions {
  absl::Duration connect_timeout = absl::Seconds(3);
  absl::Duration request_timeout = absl::Seconds(10);  // cap per attempt, below the caller's deadline
  int max_connections = 8;                             // total open connections to the upstream
  std::string ca_file;                                 // extra CA bundle; empty = system store
  std::size_t max_response_bytes = 1 << 20;            // a bigger body is an error, not a read
};

class CurlTransport final : public HttpTransport, public Scheduler {
 public:
  explicit CurlTransport(CurlTransportOptions options);
  ~CurlTransport() override;  // stops the loop; pending callbacks get CANCELLED
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void Send(HttpRequest request, absl::Time deadline, Callback done) override;
  void RunAt(absl::Time when, Task task) override;

 private:
  struct Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace ota
