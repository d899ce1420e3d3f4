// ota-gateway: the gRPC service that cancels Alibaba Cloud IoT OTA dynamic update policies on
// behalf of internal callers, holding the AccessKey, signing, and sharing the account's quota.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cli_flags/hyphenated_flags.h"
#include "emulator/demo_credentials.h"
#include "grpc/health/v1/health.pb.h"
#include "server/api/ota_strategy_service.h"
#include "server/app/credentials_flags.h"
#include "server/app/gateway_config.h"
#include "server/app/limiter_factory.h"
#include "server/app/security_config.h"
#include "server/base/build_info.h"
#include "server/base/clock.h"
#include "server/base/json_logger.h"
#include "server/call/cancel_call.h"
#include "server/call/error_mapping.h"
#include "server/call/inflight_dedup.h"
#include "server/credentials/credentials.h"
#include "server/credentials/sources/credential_chain.h"
#include "server/http/credentials_http_client.h"
#include "server/http/curl_transport.h"
#include "server/observability/admin_server.h"
#include "server/observability/gateway_metrics.h"
#include "server/observability/serving_state.h"
#include "server/security/audit_log.h"
#include "server/security/caller_authorizer.h"
#include "server/security/tls_files_monitor.h"
#include "server/security/token_hash.h"

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

// Waits until every accepted call has been answered or `deadline` passes; then answers what is
// left with UNAVAILABLE (GATEWAY_SHUTTING_DOWN).
void AwaitDrain(OtaStrategyService& service, absl::Time deadline) {
  while (service.in_flight() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  if (const int64_t abandoned = service.AnswerAllShuttingDown(); abandoned > 0) {
    Log(LogLevel::kWarning, "drain timeout: answered the calls still open with UNAVAILABLE",
        {{"calls", abandoned}});
  }
}

// `ota-gateway --hash-token < token-file`: the value for token_sha256 in the callers file. The
// token is read from stdin so it never appears in `ps` or shell history.
int PrintTokenHash() {
  std::stringstream text;
  text << std::cin.rdbuf();
  // Token files usually end with a newline that is not part of the token (ota-cancel strips it
  // too).
  const absl::string_view token = absl::StripAsciiWhitespace(text.str());
  if (token.empty()) {
    std::fprintf(stderr, "ota-gateway: --hash-token: no token on stdin\n");
    return 2;
  }
  std::printf("%s\n", Sha256Hex(token).c_str());
  return 0;
}

std::unique_ptr<CallerAuthorizer> MakeAuthorizer(const SecurityConfig& security) {
  if (security.callers_file.empty()) return CallerAuthorizer::AllowAll();
  absl::StatusOr<std::unique_ptr<CallerAuthorizer>> authorizer =
      CallerAuthorizer::FromFile(security.callers_file);
  if (!authorizer.ok()) Die(authorizer.status().message());
  return *std::move(authorizer);
}

// Plaintext, or TLS re-read from disk (and the monitor that reports on those files).
std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const SecurityConfig& security, std::unique_ptr<TlsFilesMonitor>& monitor) {
  if (security.plaintext) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> summary = CheckGrpcTlsFiles(security.tls, absl::Now());
  if (!summary.ok()) Die(summary.status().message());
  Log(LogLevel::kInfo, "gRPC TLS files ok", {{"tls", *summary}});
  monitor = std::make_unique<TlsFilesMonitor>(security.tls, security.tls_reload_interval, *summary);
  return MakeGrpcTlsServerCredentials(security.tls, security.tls_reload_interval);
}

// SIGHUP: re-read the callers file (a bad file leaves the old list in force), reopen the audit log
// (after logrotate), and check the TLS files; gRPC 1.51's watcher applies TLS changes by itself
// within --tls-reload-interval and cannot be told to do it sooner.
void ReloadOnSighup(const SecurityConfig& security, CallerAuthorizer& authorizer, AuditLog* audit,
                    TlsFilesMonitor* tls_monitor) {
  if (authorizer.checks_callers()) {
    if (absl::Status status = authorizer.Reload(); status.ok()) {
      Log(LogLevel::kInfo, "callers file reloaded",
          {{"callers_file", security.callers_file}, {"callers", authorizer.caller_count()}});
    } else {
      Log(LogLevel::kError, "callers file NOT reloaded; the previous list stays in force",
          {{"error", std::string(status.message())}, {"callers", authorizer.caller_count()}});
    }
  }
  if (audit != nullptr) {
    if (absl::Status status = audit->Reopen(); !status.ok()) {
      Log(LogLevel::kError, "audit log not reopened; still writing to the old file",
          {{"error", std::string(status.message())}});
    }
  }
  if (tls_monitor != nullptr) tls_monitor->CheckNow("SIGHUP");
}

int Run(const GatewayConfig& config, const SecurityConfig& security,
        const CredentialChainOptions& credential_chain) {
  SetMinLogLevel(config.log_level);
  const ErrorMapper errors = MakeErrorMapper(config);
  std::unique_ptr<CallerAuthorizer> authorizer = MakeAuthorizer(security);
  std::unique_ptr<AuditLog> audit;
  if (!security.audit_log.empty()) {
    absl::StatusOr<std::unique_ptr<AuditLog>> opened = AuditLog::Open(security.audit_log);
    if (!opened.ok()) Die(opened.status().message());
    audit = *std::move(opened);
  }

  // SIGTERM/SIGINT/SIGHUP are handled by a dedicated thread (sigwait): block them before any other
  // thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // After the mask: the TLS file watcher and monitor run on threads of their own.
  std::unique_ptr<TlsFilesMonitor> tls_monitor;
  std::shared_ptr<grpc::ServerCredentials> server_credentials =
      MakeServerCredentials(security, tls_monitor);
  // After the mask: the credentials refresh thread must not catch SIGTERM either.
  std::unique_ptr<CredentialsProvider> credentials = MakeCredentials(config, credential_chain);
  // The account's budget is keyed by --limiter-key, else by whom the credentials act for: a
  // temporary key's AccessKeyId changes at every refresh and differs between replicas.
  CancelByJobPolicy policy = config.policy;
  if (policy.limiter_key.empty()) {
    policy.limiter_key = credentials->RateBudgetIdentity();
    if (!policy.limiter_key.empty()) {
      Log(LogLevel::kInfo, "rate budget keyed by the credentials' principal (--limiter-key unset)",
          {{"limiter_key", policy.limiter_key}});
    } else if (absl::StatusOr<Credentials> first = credentials->Get();
               first.ok() && first->expiration != absl::InfiniteFuture()) {
      Log(LogLevel::kWarning,
          "temporary credentials get a new AccessKeyId at every refresh, and the rate budget is "
          "keyed by it: set --limiter-key to the Alibaba account ID");
    }
  }

  Clock& clock = SystemClock::Get();
  // Declared before everything a call touches, so they outlive every call.
  ServingState serving(kServiceName, kLimiterHealthService);
  GatewayMetrics metrics(CurrentBuild(), serving, *credentials);
  CurlTransport transport(config.transport);
  absl::StatusOr<LimiterSetup> limiter_setup =
      MakeConfiguredRateLimiter(config.rate_limit, config.policy.max_limiter_wait, clock);
  if (!limiter_setup.ok()) Die(limiter_setup.status().message());
  RateLimiter& limiter = *limiter_setup->limiter;
  metrics.SetLimiterBackend(limiter_setup->watch_health ? LimiterBackend::kRedis
                                                        : LimiterBackend::kLocal);
  CancelByJobRunner runner(CancelByJobDeps{.limiter = &limiter,
                                           .scheduler = &transport,
                                           .transport = &transport,
                                           .credentials = credentials.get(),
                                           .errors = &errors,
                                           .clock = &clock,
                                           .metrics = &metrics},
                           policy);
  // Identical concurrent calls share one upstream call (same account: the limiter's key).
  InflightDedup dedup(runner, transport, clock, [&policy, &credentials]() -> std::string {
    if (!policy.limiter_key.empty()) return policy.limiter_key;
    absl::StatusOr<Credentials> current = credentials->Get();
    return current.ok() ? current->access_key_id : std::string();
  });
  const CancelByJobCaller& caller =
      config.dedup_inflight ? static_cast<const CancelByJobCaller&>(dedup) : runner;
  OtaStrategyService service(caller, clock,
                             {.default_timeout = config.default_timeout,
                              .authorizer = authorizer.get(),
                              .audit = audit.get(),
                              .metrics = &metrics,
                              .max_pending_calls = config.max_pending_calls});

  // Up before the gRPC port, so /readyz answers 503 rather than nothing while the server starts.
  AdminServer admin([&metrics] { return metrics.registry().RenderText(); }, serving);
  std::string admin_address;
  if (!config.admin_listen.empty()) {
    absl::StatusOr<int> admin_port = admin.Start(config.admin_listen);
    if (!admin_port.ok()) Die(admin_port.status().message());
    admin_address = absl::StrCat(config.admin_listen.substr(0, config.admin_listen.rfind(':')), ":",
                                 *admin_port);
  }

  grpc::EnableDefaultHealthCheckService(true);
  // Links the generated grpc.health.v1 descriptor in, so reflection can describe the health
  // service that the default implementation serves without one.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen, server_credentials, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Die(absl::StrCat("cannot listen on ", config.listen,
                     ": address in use or not local? (--listen HOST:PORT)"));
  }
  serving.AttachHealthService(server->GetHealthCheckService());
  serving.SetLimiterHealthy(true);
  serving.SetServing(true);
  if (limiter_setup->watch_health) {
    // A Redis outage degrades the limiter, not the service: fail-local keeps serving.
    limiter_setup->watch_health([&serving, &metrics](bool degraded, const std::string& detail) {
      serving.SetLimiterHealthy(!degraded);
      metrics.SetLimiterBackend(degraded ? LimiterBackend::kDegraded : LimiterBackend::kRedis);
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
  if (security.plaintext_implied) {
    Log(LogLevel::kWarning,
        "PLAINTEXT gRPC: --emulator implies --plaintext. Anyone on the network path can read and "
        "forge calls. Pass --tls-cert-file/--tls-key-file outside a local demo.");
  } else if (security.plaintext) {
    Log(LogLevel::kWarning, "gRPC served without TLS (--plaintext)");
  }
  if (security.unauthenticated_implied) {
    Log(LogLevel::kWarning,
        "UNAUTHENTICATED callers: --emulator implies --allow-unauthenticated. Every client that "
        "reaches the port may cancel OTA jobs. Pass --callers-file outside a local demo.");
  } else if (!authorizer->checks_callers()) {
    Log(LogLevel::kWarning, "callers are not checked (--allow-unauthenticated)");
  }
  if (security.plaintext && authorizer->checks_callers()) {
    Log(LogLevel::kWarning,
        "bearer tokens travel in cleartext without TLS; use this only behind a TLS-terminating "
        "proxy on a trusted network");
  }
  if (audit == nullptr) {
    Log(LogLevel::kWarning, "no audit trail (--audit-log not set); production should set it");
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  nlohmann::ordered_json serving_fields = {
      {"listen", absl::StrCat(host, ":", port)},
      {"upstream", config.endpoint_url},
      {"signature", std::string(SignatureVersionName(config.policy.signature_version))},
      {"credentials", credentials->Describe()},
      {"limiter", limiter.Describe()},
      {"max_attempts", config.policy.max_attempts},
      {"transport", security.plaintext                    ? "plaintext"
                    : security.tls.client_ca_file.empty() ? "tls"
                                                          : "mtls"},
      {"callers", authorizer->checks_callers() ? nlohmann::ordered_json(authorizer->caller_count())
                                               : nlohmann::ordered_json("unchecked")},
      {"audit_log", security.audit_log},
      {"max_pending_calls", config.max_pending_calls},
      {"dedup_inflight", config.dedup_inflight}};
  serving_fields["admin"] = admin_address.empty() ? std::string("off") : admin_address;
  Log(LogLevel::kInfo, "ota-gateway serving", serving_fields);

  std::thread signal_thread([&] {
    int signal_number = 0;
    while (sigwait(&signals, &signal_number) == 0 && signal_number == SIGHUP) {
      ReloadOnSighup(security, *authorizer, audit.get(), tls_monitor.get());
    }
    Log(LogLevel::kInfo, "shutting down: draining in-flight calls",
        {{"signal", signal_number},
         {"in_flight", service.in_flight()},
         {"drain_timeout_ms", absl::ToInt64Milliseconds(config.drain_timeout)}});
    serving.StopServing();
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
      "Credentials: the standard Alibaba Cloud chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET "
      "(+ _SECURITY_TOKEN), OIDC (ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE), "
      "~/.aliyun/config.json, ~/.alibabacloud/credentials, ECS RAM role.\nEvery flag --x-y may "
      "also be set as OTA_X_Y in the "
      "environment; the command line wins.\n"
      "Example: ota-gateway --listen 0.0.0.0:50051 --region cn-shanghai --qps 10");
  ota::ApplyGatewayEnvironmentFallbacks();
  ota::ApplyLimiterEnvironmentFallbacks();
  ota::ApplySecurityEnvironmentFallbacks();
  ota::ApplyCredentialsEnvironmentFallbacks();
  std::vector<std::string> storage;
  std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (ota::HashTokenRequested()) return ota::PrintTokenHash();
  absl::StatusOr<ota::GatewayConfig> config = ota::LoadGatewayConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<ota::SecurityConfig> security = ota::LoadSecurityConfig(config->emulator_mode);
  if (!security.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n", std::string(security.status().message()).c_str());
    return 2;
  }
  absl::StatusOr<ota::CredentialChainOptions> credential_chain =
      ota::LoadCredentialChainOptions(config->emulator_mode);
  if (!credential_chain.ok()) {
    std::fprintf(stderr, "ota-gateway: %s\n",
                 std::string(credential_chain.status().message()).c_str());
    return 2;
  }
  return ota::Run(*config, *security, *credential_chain);
}
