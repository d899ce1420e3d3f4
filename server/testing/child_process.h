// ChildProcess: a server process that a test or a benchmark starts (ota-gateway, iot-emulator, the
// ceiling server, nginx), with its output sent to a file so a chatty server never blocks on a full
// pipe, and stopped when the handle goes away.
//
//   absl::StatusOr<ota::testing::ChildProcess> gw = ota::testing::ChildProcess::Start(
//       {"build/server/ota-gateway", "--listen=127.0.0.1:5000"}, "/tmp/run/gateway.log");
//   pid_t pid = gw->pid();
//   gw->Stop();  // SIGTERM, then SIGKILL after a grace period
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota::testing {

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the given arguments; stdout and stderr go to `log_path`.
  [[nodiscard]] static absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& argv,
                                                          const std::string& log_path);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool running();
  // Waits for the process to exit by itself; its exit code, or -1 if it died of a signal.
  int Wait();
  // SIGTERM, and SIGKILL if it has not exited within `grace`. Idempotent.
  void Stop(absl::Duration grace = absl::Seconds(5));

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

// A TCP port on 127.0.0.1 that was free a moment ago (the usual small race is accepted).
[[nodiscard]] int FreeLoopbackPort();

}  // namespace ota::testing
