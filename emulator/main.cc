// iot-emulator: a local stand-in for https://iot.<region>.aliyuncs.com/ serving
// CancelOTAStrategyByJob. See emulator/README.md.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "cli_flags/hyphenated_flags.h"
#include "emulator/emulator_options.h"
#include "emulator/emulator_server.h"
#include "server/base/clock.h"

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Local stand-in for Alibaba Cloud IoT Platform's CancelOTAStrategyByJob API.\n"
      "Usage: iot-emulator [--listen HOST:PORT] [--access-key ID:SECRET[:ACCOUNT]]... "
      "[--job ID=STATE[@INSTANCE]]...");
  absl::FlagsUsageConfig usage_config;
  // --help lists the flags of the emulator's own sources, not only those of a file named after
  // the binary (Abseil's default).
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::StrContains(path, "emulator/");
  };
  absl::SetFlagsUsageConfig(usage_config);

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
