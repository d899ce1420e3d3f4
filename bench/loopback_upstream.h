// LoopbackUpstream: the "fast loopback upstream" of the benchmarks, an nginx (Debian package)
// answering every request with one fixed Alibaba-shaped success body, over HTTP and over HTTPS.
// nginx, not iot-emulator, because the emulator verifies every signature and records every call:
// useful in tests, but then the upstream and not the gateway would be what is measured.
//
// The HTTPS server logs one line per request with nginx's connection serial number, so the
// benchmark counts TCP connections and TLS handshakes where they happen: at the upstream.
// Keep-alive is unlimited (keepalive_requests 1000000) so the upstream never forces a reconnect.
//
//   absl::StatusOr<std::unique_ptr<ota::LoopbackUpstream>> up =
//       ota::LoopbackUpstream::Start("/usr/sbin/nginx", "/tmp/bench-run");
//   (*up)->http_url();     // "http://127.0.0.1:PORT/"
//   (*up)->https_url();    // "https://127.0.0.1:PORT/", certificate in (*up)->ca_file()
//   ota::UpstreamConnections c = (*up)->HttpsConnectionsSince(mark);
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/testing/child_process.h"

namespace ota {

// What the HTTPS upstream saw in a span of its access log.
struct UpstreamConnections {
  long long requests = 0;
  long long connections = 0;       // distinct TCP connections; each began with one TLS handshake
  long long resumed_sessions = 0;  // handshakes that resumed an earlier TLS session
};

class LoopbackUpstream {
 public:
  // Writes a config, a self-signed certificate for IP 127.0.0.1 (openssl CLI) and starts nginx
  // in `work_dir`; returns once both ports accept connections.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LoopbackUpstream>> Start(
      const std::string& nginx, const std::string& work_dir);

  [[nodiscard]] std::string http_url() const;
  [[nodiscard]] std::string https_url() const;
  [[nodiscard]] const std::string& ca_file() const { return ca_file_; }
  [[nodiscard]] pid_t pid() const { return process_.pid(); }

  // Byte offset of the end of the HTTPS access log now; pass it to HttpsConnectionsSince.
  [[nodiscard]] long long HttpsLogMark() const;
  [[nodiscard]] UpstreamConnections HttpsConnectionsSince(long long mark) const;

  // The body every request gets.
  static constexpr char kBody[] =
      R"({"RequestId":"0B8C2E71-5D4A-4F3B-9E6C-1A2B3C4D5E6F","Success":true})";

 private:
  LoopbackUpstream(testing::ChildProcess process, int http_port, int https_port,
                   std::string ca_file, std::string https_log)
      : process_(std::move(process)),
        http_port_(http_port),
        https_port_(https_port),
        ca_file_(std::move(ca_file)),
        https_log_(std::move(https_log)) {}

  testing::ChildProcess process_;
  int http_port_;
  int https_port_;
  std::string ca_file_;
  std::string https_log_;
};

}  // namespace ota
