// iot-emulator: a local stand-in for https://iot.<region>.aliyuncs.com/ serving
// CancelOTAStrategyByJob. See emulator/README.md.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "cli_flags/hyphenated_flags.h"
#include "cli_flags/program_help.h"
#include "emulator/emulator_options.h"
#include "emulator/emulator_server.h"
#include "server/base/clock.h"

namespace {

ota::ProgramHelp Help() {
  return {
      .program = "iot-emulator",
      .summary =
          "a local stand-in for Alibaba Cloud IoT Platform's OTA APIs CancelOTAStrategyByJob, "
          "QueryOTAJob and ListOTAJobByFirmware (signatures verified, a table of jobs, the quota "
          "enforced, faults on request).",
      .usage =
          "iot-emulator [--listen HOST:PORT] [--access-key ID:SECRET[:ACCOUNT]]...\n"
          "             [--job ID=STATE[@INSTANCE][#FIRMWARE]]... [--fault-...]",
      .groups = {{"Serving",
                  {"listen=HOST:PORT", "tls-cert=FILE", "tls-key=FILE", "threads",
                   "record-file=FILE"}},
                 {"Accounts and quota",
                  {"access-key=ID:SECRET[:ACCOUNT[:STS_TOKEN]]", "qps", "max-skew"}},
                 {"Jobs",
                  {"job=ID=STATE[@INSTANCE][#FIRMWARE]", "jobs-file=FILE", "iot-instance=ID"}},
                 {"Faults",
                  {"fault-latency", "fault-status", "fault-reset", "fault-garbage",
                   "fault-slow-body", "fault-oversized", "fault-clock-skew", "fault-rate",
                   "fault-arrival-jitter", "fault-after-apply", "fault-action"}}},
      .notes =
          "--access-key, --job and --iot-instance may be repeated. The control endpoints\n"
          "(/_emulator/calls, /_emulator/faults, /_emulator/jobs, ...) are in emulator/README.md."};
}

}  // namespace

int main(int argc, char** argv) {
  const ota::ProgramHelp help = Help();
  if (std::optional<int> exit_code = ota::HandleHelpAndVersion(argc, argv, help)) {
    return *exit_code;
  }
  absl::SetProgramUsageMessage(absl::string_view(help.summary.data(), help.summary.size()));

  std::vector<std::string> normalized_storage;
  std::vector<char*> normalized = ota::NormalizeFlagNames(argc, argv, normalized_storage);
  std::vector<std::string> joined_storage;
  std::vector<char*> args =
      ota::JoinRepeatedFlags(static_cast<int>(normalized.size()), normalized.data(),
                             {"access_key", "job", "iot_instance"}, joined_storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());

  absl::StatusOr<ota::EmulatorOptions> options = ota::EmulatorOptionsFromFlags();
  if (!options.ok()) {
    std::cerr << "iot-emulator: " << options.status().message() << "\n";
    return 2;
  }

  // SIGTERM/SIGINT are taken by a dedicated thread (sigwait) so stopping runs outside a signal
  // handler; every other thread, created after this, inherits the blocked mask. SIGPIPE is ignored
  // because a peer may vanish while we write (and the reset fault makes it so on purpose).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<ota::EmulatorServer>> server =
      ota::EmulatorServer::Create(*options, ota::SystemClock::Get());
  if (!server.ok()) {
    std::cerr << "iot-emulator: " << server.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> url = (*server)->Bind();
  if (!url.ok()) {
    std::cerr << "iot-emulator: " << url.status().message() << "\n";
    return 2;
  }

  std::thread stopper([&server, stop_signals] {
    int received = 0;
    sigwait(&stop_signals, &received);
    (*server)->Stop();
  });
  stopper.detach();

  std::cout << "iot-emulator listening on " << *url << std::endl;
  (*server)->Serve();
  return 0;
}
