// GatewayServer: one running ota-gateway. Start builds the whole object graph from the settings
// (credentials, rate limiter, upstream transport, call runner, gRPC service, admin port), starts
// serving, and reports what it serves; Drain and Wait stop it the way SIGTERM should.
//
// main() only parses flags and routes signals; a test can start the same server in-process:
//
//   absl::StatusOr<std::unique_ptr<ota::GatewayServer>> server =
//       ota::GatewayServer::Start(*std::move(settings));
//   if (!server.ok()) { /* refuse to start: the message names what to fix */ }
//   // SIGHUP: (*server)->Reload();   SIGTERM: (*server)->Drain(SIGTERM);
//   (*server)->Wait();
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/app/gateway_settings.h"
#include "server/credentials/credentials.h"

namespace ota {

class GatewayServer {
 public:
  // Fails (without serving anything) when the settings cannot work: a broken credential source,
  // an unreadable error map, callers file or audit log, bad TLS files, a port in use.
  // `environment` is where the credential chain looks (the process environment in production).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(
      GatewaySettings settings, const EnvironmentLookup& environment = ProcessEnvironment());
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // The bound gRPC port (--listen may ask for port 0) and admin address ("" when off).
  [[nodiscard]] int port() const;
  [[nodiscard]] const std::string& admin_address() const;

  // SIGHUP: re-reads the callers file (a bad file leaves the old list in force), reopens the audit
  // log (after logrotate) and checks the TLS files. gRPC 1.51's watcher applies TLS changes by
  // itself within --tls-reload-interval and cannot be told to do it sooner.
  void Reload();

  // SIGTERM: health turns NOT_SERVING, new calls are refused, accepted calls get
  // --drain-timeout to finish and those left are answered UNAVAILABLE; then gRPC stops.
  // `signal_number` is what asked for it, for the log (0: not a signal).
  void Drain(int signal_number);

  // Blocks until the gRPC server has stopped (after Drain).
  void Wait();

 private:
  struct Parts;
  explicit GatewayServer(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace ota
