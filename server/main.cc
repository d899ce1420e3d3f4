// ota-gateway: the gRPC service that cancels Alibaba Cloud IoT OTA dynamic update policies on
// behalf of internal callers, holding the AccessKey, signing, and sharing the account's quota.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli_flags/hyphenated_flags.h"
#include "emulator/demo_credentials.h"
#include "grpc/health/v1/health.pb.h"
#include "server/cancel_call.h"
#include "server/clock.h"
#include "server/credentials.h"
#include "server/curl_transport.h"
#include "server/error_mapping.h"
#include "server/gateway_config.h"
#include "server/inflight_dedup.h"
#include "server/json_logger.h"
#include "server/limiter_factory.h"
#include "server/ota_strategy_service.h"

namespace ota {
namespace {

constexpr char kServiceName[] = "ota.v1.OtaStrategyService";

[[noreturn]] void Die(absl::string_view message) {
  Log(LogLevel::kError, message);
  std::exit(2);  // NOLINT(concurrency-mt-unsafe): only before the server starts
}

// Environment credentials; in explicit emulator mode without them, the emulator's demo key.
std::unique_ptr<CredentialsProvider> MakeCredentials(const GatewayConfig& config) {
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> provider = CredentialsFromEnvironment();
  if (provider.ok()) return *std::move(provider);
  if (provider.status().code() == absl::StatusCode::kNotFound && config.emulator_mode) {
    return std::make_unique<StaticCredentialsProvider>(
        Credentials{.access_key_id = std::string(kDemoAccessKeyId),
                    .access_key_secret = std::string(kDemoAccessKeySecret),
                    .security_token = ""},
        "iot-emulator demo AccessKey (emulator mode)");
  }
  Die(absl::StrCat("refusing to start: ", provider.status().message(),
                   provider.status().code() == absl::StatusCode::kNotFound
                       ? ". For a local demo against iot-emulator, pass --emulator."
                       : ""));
}

ErrorMapper MakeErrorMapper(const GatewayConfig& config) {
  if (config.error_map_file.empty()) return ErrorMapper();
  std::ifstream in(config.error_map_file);
  if (!in) Die(absl::StrCat("--error-map: cannot read ", config.error_map_file));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ErrorMapper> mapper = ErrorMapper::WithOverrides(text.str());
  if (!mapper.ok())
    Die(absl::StrCat("--error-map ", config.error_map_file, ": ", mapper.status().message()));
  return *std::move(mapper);
}

// Waits until every accepted call has been answered or `deadline` passes; then answers what is
// left with UNAVAILABLE (GATEWAY_SHUTTING_DOWN).
void AwaitDrain(OtaStrategyService& service, absl::Time deadline) {
  while (service.in_flight() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  if (const int64_t abandoned = service.AnswerAllShuttingDown(); abandoned > 0) {
    Log(LogLevel::kWarning, "drain timeout: answered the calls still open with UNAVAILABLE",
        {{"calls", abandoned}});
  }
}

int Run(const GatewayConfig& config) {
  SetMinLogLevel(config.log_level);
  std::unique_ptr<CredentialsProvider> credentials = MakeCredentials(config);
  const ErrorMapper errors = MakeErrorMapper(config);

  // SIGTERM/SIGINT are handled by a dedicated thread (sigwait): block them before any other thread
  // exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Clock& clock = SystemClock::Get();
  CurlTransport transport(config.transport);
  absl::StatusOr<LimiterSetup> limiter_setup =
      MakeConfiguredRateLimiter(config.rate_limit, config.policy.max_limiter_wait, clock);
  if (!limiter_setup.ok()) Die(limiter_setup.status().message());
  RateLimiter& limiter = *limiter_setup->limiter;
  CancelByJobRunner runner(CancelByJobDeps{.limiter = &limiter,
                                           .scheduler = &transport,
                                           .transport = &transport,
                                           .credentials = credentials.get(),
                                           .errors = &errors,
                                           .clock = &clock},
                           config.policy);
  // Identical concurrent calls share one upstream call (same account: the limiter's key).
  InflightDedup dedup(runner, transport, clock, [&config, &credentials]() -> std::string {
    if (!config.policy.limiter_key.empty()) return config.policy.limiter_key;
    absl::StatusOr<Credentials> current = credentials->Get();
    return current.ok() ? current->access_key_id : std::string();
  });
  const CancelByJobCaller& caller =
      config.dedup_inflight ? static_cast<const CancelByJobCaller&>(dedup) : runner;
  OtaStrategyService service(
      caller, clock,
      {.default_timeout = config.default_timeout, .max_pending_calls = config.max_pending_calls});

  grpc::EnableDefaultHealthCheckService(true);
  // Links the generated grpc.health.v1 descriptor in, so reflection can describe the health
  // service that the default implementation serves without one.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Die(absl::StrCat("cannot listen on ", config.listen,
                     ": address in use or not local? (--listen HOST:PORT)"));
  }
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(kServiceName, true);
  health->SetServingStatus(true);
  health->SetServingStatus(kLimiterHealthService, true);
  if (limiter_setup->watch_health) {
    // A Redis outage degrades the limiter, not the service: fail-local keeps serving.
    limiter_setup->watch_health([health](bool degraded, const std::string& detail) {
      health->SetServingStatus(kLimiterHealthService, !degraded);
      Log(degraded ? LogLevel::kWarning : LogLevel::kInfo,
          degraded ? "rate limiter degraded" : "rate limiter healthy", {{"limiter", detail}});
    });
  }

  if (config.emulator_mode) {
    Log(LogLevel::kWarning,
        "EMULATOR MODE: calls go to a local iot-emulator, not to Alibaba Cloud. Nothing real is "
        "cancelled. Do not use this mode in production.",
        {{"endpoint", config.endpoint_url}});
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  Log(LogLevel::kInfo, "ota-gateway serving",
      {{"listen", absl::StrCat(host, ":", port)},
       {"upstream", config.endpoint_url},
       {"signature", std::string(SignatureVersionName(config.policy.signature_version))},
       {"credentials", credentials->Describe()},
       {"limiter", limiter.Describe()},
       {"max_attempts", config.policy.max_attempts},
       {"max_pending_calls", config.max_pending_calls},
       {"dedup_inflight", config.dedup_inflight}});

  std::thread signal_thread([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    Log(LogLevel::kInfo, "shutting down: draining in-flight calls",
        {{"signal", signal_number},
         {"in_flight", service.in_flight()},
         {"drain_timeout_ms", absl::ToInt64Milliseconds(config.drain_timeout)}});
    health->SetServingStatus(kServiceName, false);
    health->SetServingStatus(false);
    // The service refuses new calls itself while the accepted ones finish, and answers those
    // still open at the drain timeout. gRPC's Shutdown comes only after that, with a short grace:
    // given the whole drain timeout, it would wait it out for streams that never end by
    // themselves, such as health Watch calls from load balancers.
    service.StopAccepting();
    AwaitDrain(service, absl::Now() + config.drain_timeout);
    server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  });
  server->Wait();
  signal_thread.join();
  Log(LogLevel::kInfo, "ota-gateway stopped", {{"in_flight", service.in_flight()}});
  return 0;
}

}  // namespace
}  // namespace ota

int main(int argc, char** argv) {
  // Debian's Abseil checks every absl::Mutex acquisition (gRPC's included) for lock-order cycles,
  // about 4% of the CPU per call in the benchmark; that is a debugging aid, not a production need.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "ota-gateway: gRPC service (ota.v1.OtaStrategyService) that cancels the dynamic update "
      "policy of Alibaba Cloud IoT OTA batches.\n"
      "Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, optional "
      "ALIBABA_CLOUD_SECURITY_TOKEN.\nEvery flag --x-y may also be set as OTA_X_Y in the "
      "environment; the command line wins.\n"
      "Example: ota-gateway --listen 0.0.0.0:50051 --region cn-shanghai --qps 10");
  ota::ApplyGatewayEnvironmentFallbacks();
  ota::ApplyLimiterEnvironmentFallbacks();
  std::vector<std::string> storage;
  std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  absl::StatusOr<ota::GatewayConfig> config = ota::LoadGatewayConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  return ota::Run(*config);
}
