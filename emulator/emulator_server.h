// EmulatorServer: iot-emulator's HTTP(S) server, standing in for
// https://iot.<region>.aliyuncs.com/.
//
// Serves the RPC API at "/" (GET or POST, see EmulatedIotApi) with injected faults applied, and
// the control endpoints tests use on a running emulator:
//   POST /_emulator/faults  JSON FaultConfig plus "arrival_jitter" (ArrivalJitter), replaces the
//                           current faults (GET shows them)
//   POST /_emulator/reset   jobs, faults, quota, nonces back to the start; call record cleared
//   GET  /_emulator/calls   JSON array of every API call received (see CallRecord)
//   GET  /_emulator/jobs    JSON array of the jobs and their current states
//   POST /_emulator/jobs    JSON {"jobs":[...],"iot_instances":[...]}: adds or replaces jobs
// Multi-threaded (a pool of --threads workers, each serving one connection) with HTTP keep-alive.
// As the tests' measuring instrument, it records each API call's arrival as the moment it reached
// the process (AcceptStampingPool), listens with a backlog that holds a burst of new connections,
// and counts a call against the quota only after any injected arrival jitter.
//
//   auto server = ota::EmulatorServer::Create(options, ota::SystemClock::Get());
//   absl::StatusOr<std::string> url = (*server)->Bind();   // "http://127.0.0.1:18080"
//   (*server)->Serve();                                     // until Stop() from another thread
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "emulator/arrival_jitter.h"
#include "emulator/call_record.h"
#include "emulator/emulated_iot_api.h"
#include "emulator/emulator_options.h"
#include "emulator/fault_injector.h"
#include "emulator/job_table.h"
#include "emulator/nonce_registry.h"
#include "emulator/quota_window.h"
#include "emulator/request_authenticator.h"
#include "server/base/clock.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace ota {

class EmulatorServer {
 public:
  // Fails on unusable TLS files or record file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EmulatorServer>> Create(
      const EmulatorOptions& options, const Clock& clock);
  ~EmulatorServer();
  EmulatorServer(const EmulatorServer&) = delete;
  EmulatorServer& operator=(const EmulatorServer&) = delete;

  // Binds the listening socket; returns the base URL with the actual port.
  [[nodiscard]] absl::StatusOr<std::string> Bind();
  // Serves until Stop(); call after Bind().
  void Serve();
  // Thread-safe; Serve() returns soon after.
  void Stop();

 private:
  EmulatorServer(const EmulatorOptions& options, const Clock& clock);
  void InstallRoutes();
  void HandleApiCall(const httplib::Request& req, httplib::Response& res);
  // A connection is busy from the moment its request is routed until its answer is written.
  void MarkBusy(const httplib::Request& req, bool busy);

  const EmulatorOptions options_;
  const Clock& clock_;
  NonceRegistry nonces_;
  RequestAuthenticator authenticator_;
  QuotaWindow quota_;
  QuotaWindow query_quota_;  // QueryOTAJob has a quota of its own
  QuotaWindow list_quota_;   // and so has ListOTAJobByFirmware
  JobTable jobs_;
  EmulatedIotApi api_;
  FaultInjector faults_;
  ArrivalJitter jitter_;
  std::unique_ptr<CallRecorder> recorder_;
  std::unique_ptr<httplib::Server> http_;
  std::atomic<int> bound_port_{0};
  int listen_fd_ = -1;  // set while binding
  std::mutex busy_mu_;
  absl::flat_hash_set<std::string> busy_connections_ ABSL_GUARDED_BY(busy_mu_);  // remote ip:port
};

}  // namespace ota
