// CeilingServer: the throughput ceiling of scenario 1, an OtaStrategyService built with the same
// gRPC that answers every CancelByJob at once with an empty response. Whatever the gateway costs on
// top of this is the gateway's own work; run as `ota-bench ceiling-server --listen=HOST:PORT` so it
// is a process of its own, measured like ota-gateway.
//
//   return ota::RunCeilingServer("127.0.0.1:50052");  // blocks until SIGTERM
#pragma once

#include <string>

namespace ota {

// Serves until SIGTERM/SIGINT; returns the process exit code. With `park`, every call with a job
// id is held until its caller cancels it (`--park`: the memory floor of scenario 3, what gRPC alone
// spends per waiting call).
[[nodiscard]] int RunCeilingServer(const std::string& listen, bool park = false);

}  // namespace ota
