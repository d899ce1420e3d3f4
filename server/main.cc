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
#include "server/credential_chain.h"
#include "server/credentials.h"
#include "server/credentials_flags.h"
#include "server/credentials_http_client.h"
#include "server/curl_transport.h"
#include "server/error_mapping.h"
#include "server/gateway_config.h"
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

// The first configured source of the standard credential chain (credential_chain.h); in explicit
// emulator mode when none is configured, the emulator's demo key.
std::unique_ptr<CredentialsProvider> MakeCredentials(const GatewayConfig& config,
                                                     const CredentialChainOptions& chain) {
  // STS is across the internet, the metadata service one hop away.
  auto sts = std::make_shared<CurlCredentialsHttpClient>(
      CredentialsHttpOptions{.connect_timeout = absl::Seconds(3),
                             .total_timeout = absl::Seconds(10),
                             .ca_file = config.transport.ca_file});
  auto metadata = std::make_shared<CurlCredentialsHttpClient>(CredentialsHttpOptions{
      .connect_timeout = absl::Seconds(1), .total_timeout = absl::Seconds(3)});
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> provider = MakeCredentialChain(
      chain, ProcessEnvironment(), {.sts = sts, .metadata = metadata}, SystemClock::Get());
  if (provider.ok()) {
    Log(LogLevel::kInfo, "credentials source selected", {{"credentials", (*provider)->Describe()}});
    return *std::move(provider);
  }
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

int Run(const GatewayConfig& config, const CredentialChainOptions& credential_chain) {
  SetMinLogLevel(config.log_level);
  const ErrorMapper errors = MakeErrorMapper(config);

  // SIGTERM/SIGINT are handled by a dedicated thread (sigwait): block them before any other thread
  // exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // After the mask: the credentials refresh thread must not catch SIGTERM either.
  std::unique_ptr<CredentialsProvider> credentials = MakeCredentials(config, credential_chain);
  if (absl::StatusOr<Credentials> first = credentials->Get();
      first.ok() && first->expiration != absl::InfiniteFuture() &&
      config.policy.limiter_key.empty()) {
    Log(LogLevel::kWarning,
        "temporary credentials get a new AccessKeyId at every refresh, and the rate budget is "
        "keyed by it: set --limiter-key to the Alibaba account ID");
  }

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
  OtaStrategyService service(runner, clock, {.default_timeout = config.default_timeout});

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
       {"max_attempts", config.policy.max_attempts}});

  std::thread signal_thread([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    Log(LogLevel::kInfo, "shutting down: draining in-flight calls",
        {{"signal", signal_number},
         {"in_flight", service.in_flight()},
         {"drain_timeout_ms", absl::ToInt64Milliseconds(config.drain_timeout)}});
    health->SetServingStatus(kServiceName, false);
    health->SetServingStatus(false);
    server->Shutdown(absl::ToChronoTime(absl::Now() + config.drain_timeout));
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
      "Credentials: the standard Alibaba Cloud chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET "
      "(+ _SECURITY_TOKEN), OIDC (ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE), "
      "~/.aliyun/config.json, ~/.alibabacloud/credentials, ECS RAM role.\nEvery flag --x-y may "
      "also be set as OTA_X_Y in the "
      "environment; the command line wins.\n"
      "Example: ota-gateway --listen 0.0.0.0:50051 --region cn-shanghai --qps 10");
  ota::ApplyGatewayEnvironmentFallbacks();
  ota::ApplyLimiterEnvironmentFallbacks();
  ota::ApplyCredentialsEnvironmentFallbacks();
  std::vector<std::string> storage;
  std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  absl::StatusOr<ota::GatewayConfig> config = ota::LoadGatewayConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<ota::CredentialChainOptions> credential_chain =
      ota::LoadCredentialChainOptions(config->emulator_mode);
  if (!credential_chain.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n",
                 std::string(credential_chain.status().message()).c_str());
    return 2;
  }
  return ota::Run(*config, *credential_chain);
}
