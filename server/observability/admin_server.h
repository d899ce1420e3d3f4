// AdminServer: the operator's HTTP port (--admin-listen), apart from the gRPC port so that
// scraping and probing never compete with callers and can be firewalled separately.
//
//   GET /metrics  Prometheus text exposition (format 0.0.4)
//   GET /healthz  200 while the process runs (liveness)
//   GET /readyz   200 while ota.v1.OtaStrategyService's gRPC health status is SERVING, else 503
//                 (readiness); the body names the status of the service and of the limiter entry
//
// It runs libmicrohttpd's event loop on one thread of its own: idle, half-open and slowly reading
// connections (a port scanner, Prometheus servers keeping scrape connections open) cost a socket
// and a few KiB each, never a thread, so probes keep answering while they are held (up to 256
// connections; idle ones are closed after 15 s). Nothing here is on the call path.
//
//   ota::AdminServer admin([&] { return metrics.RenderText(); }, serving);
//   absl::StatusOr<int> port = admin.Start("127.0.0.1:0");  // port 0: any free port
//   ...
//   admin.Stop();
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "server/observability/serving_state.h"

struct MHD_Daemon;

namespace ota {

class AdminServer {
 public:
  // `render_metrics` produces the /metrics body; `serving` answers /readyz. Both must outlive the
  // server (until Stop or destruction).
  AdminServer(std::function<std::string()> render_metrics, const ServingState& serving);
  ~AdminServer();  // Stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds `host_port` (HOST:PORT, port 0 for any free one; IPv6 hosts in brackets) and serves on
  // a background thread. Returns the bound port; UNAVAILABLE when the address cannot be bound.
  [[nodiscard]] absl::StatusOr<int> Start(const std::string& host_port);
  // Stops serving and joins the thread; idempotent.
  void Stop();

 private:
  struct Handler;  // libmicrohttpd's callback (admin_server.cc)

  std::function<std::string()> render_metrics_;
  const ServingState& serving_;
  MHD_Daemon* daemon_ = nullptr;
};

// The /readyz answer: whether ready (200, else 503) and a body naming each health entry's status.
struct Readiness {
  bool ready = false;
  std::string body;
};
[[nodiscard]] Readiness DescribeReadiness(const ServingState& serving);

}  // namespace ota
