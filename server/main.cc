// ota-gateway: the gRPC service that cancels Alibaba Cloud IoT OTA dynamic update policies on
// behalf of internal callers, holding the AccessKey, signing, and sharing the account's quota.
// This entry reads the flags and routes signals; app/gateway_server.h builds and runs the rest.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "cli_flags/hyphenated_flags.h"
#include "cli_flags/program_help.h"
#include "server/app/gateway_server.h"
#include "server/app/gateway_settings.h"
#include "server/base/json_logger.h"
#include "server/security/token_hash.h"

namespace {

ota::ProgramHelp Help() {
  return {
      .program = "ota-gateway",
      .summary =
          "gRPC service (ota.v1.OtaStrategyService) that cancels the dynamic update policy "
          "of Alibaba Cloud IoT OTA batches for internal callers: it holds the AccessKey, "
          "signs, and shares the account's quota among them.",
      .usage =
          "ota-gateway --listen 0.0.0.0:50051 --region cn-shanghai --qps 10 "
          "--tls-cert-file F ...\n"
          "ota-gateway --hash-token < token-file",
      .groups = {{"Serving",
                  {"listen=HOST:PORT", "admin-listen=HOST:PORT", "max-pending-calls",
                   "default-timeout", "drain-timeout", "log-level=LEVEL"}},
                 {"Callers: TLS and who may call",
                  {"tls-cert-file=FILE", "tls-key-file=FILE", "tls-client-ca-file=FILE",
                   "tls-reload-interval", "plaintext", "callers-file=FILE", "allow-unauthenticated",
                   "audit-log=FILE", "hash-token"}},
                 {"Upstream (Alibaba Cloud IoT Platform)",
                  {"region=REGION", "endpoint=URL", "signature-version=v1|v3", "ca-file=FILE",
                   "connect-timeout", "request-timeout", "max-attempts", "max-connections",
                   "error-map=FILE", "dedup-inflight", "emulator"}},
                 {"Credentials (besides the ALIBABA_CLOUD_* environment)",
                  {"sts-endpoint=URL", "ecs-metadata-endpoint=URL"}},
                 {"Rate limit: the account's quota",
                  {"qps", "burst", "rate-margin", "max-wait", "limiter=local|redis",
                   "limiter-key=NAME", "expected-replicas", "query-qps", "list-qps",
                   "remember-cancelled"}},
                 {"Shared limiter (Redis)",
                  {"redis-url=URL", "redis-timeout", "redis-failure-mode=MODE",
                   "limiter-key-prefix", "redis-ca-file=FILE", "redis-cert-file=FILE",
                   "redis-key-file=FILE", "redis-tls-server-name=NAME"}}},
      .notes =
          "Every flag --x-y may also be set as OTA_X_Y in the environment; the command line wins.\n"
          "Credentials: the standard Alibaba Cloud chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET\n"
          "(+ _SECURITY_TOKEN), OIDC (ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, "
          "_OIDC_TOKEN_FILE),\n"
          "~/.aliyun/config.json, ~/.alibabacloud/credentials, ECS RAM role.\n"
          "Operators' guide: deploy/README.md."};
}

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex acquisition (gRPC's included) for lock-order cycles,
  // about 4% of the CPU per call in the benchmark; that is a debugging aid, not a production need.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Before the environment fallbacks: help shows defaults, never a value from the environment.
  const ota::ProgramHelp help = Help();
  if (std::optional<int> exit_code = ota::HandleHelpAndVersion(argc, argv, help)) {
    return *exit_code;
  }
  absl::SetProgramUsageMessage(absl::string_view(help.summary.data(), help.summary.size()));
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
