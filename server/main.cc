// ota-gateway: the gRPC service that cancels Alibaba Cloud IoT OTA dynamic update policies on
// behalf of internal callers, holding the AccessKey, signing, and sharing the account's quota.
// This entry reads the flags and routes signals; app/gateway_server.h builds and runs the rest.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "cli_flags/hyphenated_flags.h"
#include "server/app/gateway_server.h"
#include "server/app/gateway_settings.h"
#include "server/base/json_logger.h"
#include "server/security/token_hash.h"

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex acquisition (gRPC's included) for lock-order cycles,
  // about 4% of the CPU per call in the benchmark; that is a debugging aid, not a production need.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "ota-gateway: gRPC service (ota.v1.OtaStrategyService) that cancels the dynamic update "
      "policy of Alibaba Cloud IoT OTA batches.\n"
      "Credentials: the standard Alibaba Cloud chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET "
      "(+ _SECURITY_TOKEN), OIDC (ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE), "
      "~/.aliyun/config.json, ~/.alibabacloud/credentials, ECS RAM role.\nEvery flag --x-y may "
      "also be set as OTA_X_Y in the environment; the command line wins.\n"
      "Example: ota-gateway --listen 0.0.0.0:50051 --region cn-shanghai --qps 10");
  ota::ApplyGatewayEnvironment();
  std::vector<std::string> storage;
  std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  // `ota-gateway --hash-token < token-file`: the token comes on stdin, never in `ps` or history.
  if (ota::HashTokenRequested()) return ota::PrintTokenHash(std::cin, std::cout, std::cerr);
  absl::StatusOr<ota::GatewaySettings> settings = ota::LoadGatewaySettings();
  if (!settings.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n", std::string(settings.status().message()).c_str());
    return 2;
  }
  ota::SetMinLogLevel(settings->gateway.log_level);

  // SIGTERM/SIGINT/SIGHUP go to one thread (sigwait): blocked before any other thread exists
  // (credential refresh, TLS file watcher, gRPC), so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  absl::StatusOr<std::unique_ptr<ota::GatewayServer>> server =
      ota::GatewayServer::Start(*std::move(settings));
  if (!server.ok()) {
    ota::Log(ota::LogLevel::kError, server.status().message());
    return 2;
  }
  std::thread signal_thread([&signals, &gateway = **server] {
    int signal_number = 0;
    while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) gateway.Reload();
    gateway.Drain(signal_number);
  });
  (*server)->Wait();
  signal_thread.join();
  return 0;
}
