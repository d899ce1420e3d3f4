#include "server/app/gateway_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "demo_credentials/demo_credentials.h"
#include "grpc/health/v1/health.pb.h"
#include "server/api/ota_strategy_service.h"
#include "server/app/limiter_factory.h"
#include "server/app/startup_report.h"
#include "server/base/build_info.h"
#include "server/base/clock.h"
#include "server/base/exclusive_port.h"
#include "server/base/json_logger.h"
#include "server/call/cancel_call.h"
#include "server/call/error_mapping.h"
#include "server/call/inflight_dedup.h"
#include "server/credentials/rate_budget_key.h"
#include "server/http/credentials_http_client.h"
#include "server/http/curl_transport.h"
#include "server/observability/admin_server.h"
#include "server/observability/gateway_metrics.h"
#include "server/observability/serving_state.h"
#include "server/security/audit_log.h"
#include "server/security/caller_authorizer.h"
#include "server/security/tls_files_monitor.h"
#include "server/signing/iot_api.h"

namespace ota {
namespace {

constexpr char kServiceName[] = "ota.v1.OtaStrategyService";

// The first configured source of the standard credential chain (credential_chain.h); in explicit
// emulator mode when none is configured, the emulator's demo key.
absl::StatusOr<std::unique_ptr<CredentialsProvider>> MakeCredentials(
    const GatewaySettings& settings, const EnvironmentLookup& environment) {
  // STS is across the internet, the metadata service one hop away.
  auto sts = std::make_shared<CurlCredentialsHttpClient>(
      CredentialsHttpOptions{.connect_timeout = absl::Seconds(3),
                             .total_timeout = absl::Seconds(10),
                             .ca_file = settings.gateway.transport.ca_file});
  auto metadata = std::make_shared<CurlCredentialsHttpClient>(CredentialsHttpOptions{
      .connect_timeout = absl::Seconds(1), .total_timeout = absl::Seconds(3)});
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> provider = MakeCredentialChain(
      settings.credentials, environment, {.sts = sts, .metadata = metadata}, SystemClock::Get());
  if (provider.ok()) {
    Log(LogLevel::kInfo, "credentials source selected", {{"credentials", (*provider)->Describe()}});
    return provider;
  }
  if (provider.status().code() == absl::StatusCode::kNotFound && settings.gateway.emulator_mode) {
    return std::make_unique<StaticCredentialsProvider>(
        Credentials{.access_key_id = std::string(kDemoAccessKeyId),
                    .access_key_secret = std::string(kDemoAccessKeySecret),
                    .security_token = ""},
        "iot-emulator demo AccessKey (emulator mode)");
  }
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to start: ", provider.status().message(),
                   provider.status().code() == absl::StatusCode::kNotFound
                       ? ". For a local demo against iot-emulator, pass --emulator."
                       : ""));
}

absl::StatusOr<ErrorMapper> MakeErrorMapper(const std::string& path) {
  if (path.empty()) return ErrorMapper();
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--error-map: cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<ErrorMapper> mapper = ErrorMapper::WithOverrides(text.str());
  if (!mapper.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--error-map ", path, ": ", mapper.status().message()));
  }
  return mapper;
}

absl::StatusOr<std::unique_ptr<CallerAuthorizer>> MakeAuthorizer(const SecurityConfig& security) {
  if (security.callers_file.empty()) return CallerAuthorizer::AllowAll();
  return CallerAuthorizer::FromFile(security.callers_file);
}

bool IsTemporary(const absl::StatusOr<Credentials>& credentials) {
  return credentials.ok() && credentials->expiration != absl::InfiniteFuture();
}

// The budget is keyed by --limiter-key, else by whom the credentials act for: a temporary key's
// AccessKeyId changes at every refresh and differs between replicas.
RateBudgetKey ChooseBudgetKey(const std::string& configured, CredentialsProvider& credentials) {
  RateBudgetKey key = ChooseRateBudgetKey(configured, credentials);
  if (key.source == RateBudgetKey::Source::kPrincipal) {
    Log(LogLevel::kInfo, "rate budget keyed by the credentials' principal (--limiter-key unset)",
        {{"limiter_key", key.fixed}});
  } else if (key.source == RateBudgetKey::Source::kAccessKeyId && IsTemporary(credentials.Get())) {
    Log(LogLevel::kWarning,
        "temporary credentials get a new AccessKeyId at every refresh, and the rate budget is "
        "keyed by it: set --limiter-key to the Alibaba account ID");
  }
  return key;
}

// Callers share the account's slots in proportion to their shares. A shared (Redis) budget is
// asked a little further ahead, to cover the round trip, and a replica may hold one slot beyond
// that (see FairDispatcherOptions::hold_ahead); a replica holds no more of the future than that.
// One caller may keep a quarter of --max-pending-calls waiting, unless its entry in the callers
// file says otherwise.
FairDispatcherOptions FairDispatchOptionsFor(const GatewayConfig& config,
                                             const RateLimitOptions& budget,
                                             const LimiterConfig& limiter) {
  return {.rate = budget,
          .lookahead = limiter.shared ? absl::Milliseconds(100) : absl::Milliseconds(25),
          .hold_ahead = limiter.shared ? 1 : 0,
          .default_max_queued =
              static_cast<int>(std::clamp<int64_t>(config.max_pending_calls / 4, 1, 1000000)),
          .recheck_delay = absl::Milliseconds(10)};
}

}  // namespace

// Declared in the order they are built: each part outlives everything built after it, so every
// call the service accepted ends before the runner, limiter and transport it uses go away.
struct GatewayServer::Parts {
  GatewaySettings settings;
  ErrorMapper errors;
  std::unique_ptr<CallerAuthorizer> authorizer;
  std::unique_ptr<AuditLog> audit;
  std::unique_ptr<TlsFilesMonitor> tls_monitor;
  std::unique_ptr<CredentialsProvider> credentials;
  CancelByJobPolicy policy;
  std::unique_ptr<ServingState> serving;
  std::unique_ptr<GatewayMetrics> metrics;
  std::unique_ptr<CurlTransport> transport;
  LimiterSetup limiter;
  std::unique_ptr<FairDispatcher> dispatcher;
  LimiterSetup query_limiter;  // QueryOTAJob's own budget
  LimiterSetup list_limiter;   // ListOTAJobByFirmware's own budget, shared fairly as the cancels'
  std::unique_ptr<FairDispatcher> list_dispatcher;
  std::unique_ptr<RememberedCancellations> remembered;
  std::unique_ptr<CancelByJobRunner> runner;
  std::unique_ptr<InflightDedup> dedup;
  std::unique_ptr<OtaStrategyService> service;
  std::unique_ptr<AdminServer> admin;
  std::string admin_address;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    GatewaySettings settings, const EnvironmentLookup& environment) {
  auto parts = std::make_unique<Parts>();
  Parts& p = *parts;
  p.settings = std::move(settings);
  const GatewayConfig& config = p.settings.gateway;
  const SecurityConfig& security = p.settings.security;

  absl::StatusOr<ErrorMapper> errors = MakeErrorMapper(config.error_map_file);
  if (!errors.ok()) return errors.status();
  p.errors = *std::move(errors);
  absl::StatusOr<std::unique_ptr<CallerAuthorizer>> authorizer = MakeAuthorizer(security);
  if (!authorizer.ok()) return authorizer.status();
  p.authorizer = *std::move(authorizer);
  if (!security.audit_log.empty()) {
    absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(security.audit_log);
    if (!audit.ok()) return audit.status();
    p.audit = *std::move(audit);
  }

  // Plaintext, or TLS re-read from disk (and the monitor that reports on those files).
  std::shared_ptr<grpc::ServerCredentials> server_credentials = grpc::InsecureServerCredentials();
  if (!security.plaintext) {
    absl::StatusOr<std::string> summary = CheckGrpcTlsFiles(security.tls, absl::Now());
    if (!summary.ok()) return summary.status();
    Log(LogLevel::kInfo, "gRPC TLS files ok", {{"tls", *summary}});
    p.tls_monitor =
        std::make_unique<TlsFilesMonitor>(security.tls, security.tls_reload_interval, *summary);
    server_credentials = MakeGrpcTlsServerCredentials(security.tls, security.tls_reload_interval);
  }

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> credentials =
      MakeCredentials(p.settings, environment);
  if (!credentials.ok()) return credentials.status();
  p.credentials = *std::move(credentials);
  p.policy = config.policy;
  p.policy.budget_key = ChooseBudgetKey(config.limiter_key, *p.credentials);

  Clock& clock = SystemClock::Get();
  p.serving = std::make_unique<ServingState>(kServiceName, kLimiterHealthService);
  p.metrics = std::make_unique<GatewayMetrics>(CurrentBuild(), *p.serving, *p.credentials,
                                               KnownAlibabaCodes());
  p.transport = std::make_unique<CurlTransport>(config.transport);
  p.limiter =
      MakeRateLimiter(p.settings.limiter, config.rate_limit, config.policy.max_limiter_wait, clock);
  p.metrics->SetLimiterBackend(p.limiter.watch_health ? LimiterBackend::kRedis
                                                      : LimiterBackend::kLocal);
  p.query_limiter = MakeRateLimiter(p.settings.limiter, config.query_rate_limit,
                                    config.policy.max_limiter_wait, clock, kQueryJobAction);
  p.remembered = MakeRememberedCancellations(p.settings.limiter, config.remember_cancelled, clock);
  p.metrics->AddCallers(p.authorizer->caller_names());
  p.dispatcher = std::make_unique<FairDispatcher>(
      *p.limiter.limiter, *p.transport, clock,
      FairDispatchOptionsFor(config, config.rate_limit, p.settings.limiter));
  p.list_limiter =
      MakeRateLimiter(p.settings.limiter, config.list_rate_limit, config.policy.max_limiter_wait,
                      clock, kListJobsByFirmwareAction);
  p.list_dispatcher = std::make_unique<FairDispatcher>(
      *p.list_limiter.limiter, *p.transport, clock,
      FairDispatchOptionsFor(config, config.list_rate_limit, p.settings.limiter));
  p.runner = std::make_unique<CancelByJobRunner>(
      CancelByJobDeps{.limiter = p.limiter.limiter.get(),
                      .scheduler = p.transport.get(),
                      .transport = p.transport.get(),
                      .credentials = p.credentials.get(),
                      .errors = &p.errors,
                      .clock = &clock,
                      .metrics = p.metrics.get(),
                      .dispatcher = p.dispatcher.get(),
                      .query_limiter = p.query_limiter.limiter.get(),
                      .remembered = p.remembered.get(),
                      .list_limiter = p.list_limiter.limiter.get(),
                      .list_dispatcher = p.list_dispatcher.get()},
      p.policy);
  // Identical concurrent calls share one upstream call (same account: the limiter's key).
  p.dedup = std::make_unique<InflightDedup>(
      *p.runner, *p.transport, clock, [&key = p.policy.budget_key, &provider = *p.credentials] {
        absl::StatusOr<Credentials> current = provider.Get();
        return current.ok() ? key.For(*current) : key.fixed;
      });
  const CancelByJobCaller& caller =
      config.dedup_inflight ? static_cast<const CancelByJobCaller&>(*p.dedup) : *p.runner;
  p.service = std::make_unique<OtaStrategyService>(
      caller, clock,
      ServiceOptions{.default_timeout = config.default_timeout,
                     .authorizer = p.authorizer.get(),
                     .audit = p.audit.get(),
                     .metrics = p.metrics.get(),
                     .max_pending_calls = config.max_pending_calls,
                     .contract_version = CurrentBuild().version,
                     .lister = p.runner.get()});

  // Up before the gRPC port, so /readyz answers 503 rather than nothing while the server starts.
  p.admin = std::make_unique<AdminServer>(
      [metrics = p.metrics.get()] { return metrics->RenderText(); }, *p.serving);
  if (!config.admin_listen.empty()) {
    absl::StatusOr<int> admin_port = p.admin->Start(config.admin_listen);
    if (!admin_port.ok()) return admin_port.status();
    p.admin_address = absl::StrCat(config.admin_listen.substr(0, config.admin_listen.rfind(':')),
                                   ":", *admin_port);
  }

  grpc::EnableDefaultHealthCheckService(true);
  // Links the generated grpc.health.v1 descriptor in, so reflection can describe the health
  // service that the default implementation serves without one.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // A busy port is found before gRPC tries it: gRPC would log a raw error line of its own before
  // our message.
  if (absl::Status free = CheckListenAddressFree(config.listen, "--listen"); !free.ok()) {
    return free;
  }
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second gateway on a busy port would start and take a
  // share of the connections. Without it, a busy port fails BuildAndStart below.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.listen, server_credentials, &p.port);
  builder.RegisterService(p.service.get());
  p.server = builder.BuildAndStart();
  if (p.server == nullptr || p.port == 0) {
    return absl::UnavailableError(ExplainListenFailure(config.listen, "--listen"));
  }
  p.serving->AttachHealthService(p.server->GetHealthCheckService());
  p.serving->SetLimiterHealthy(true);
  p.serving->SetServing(true);
  if (p.limiter.watch_health) {
    // A Redis outage degrades the limiter, not the service: fail-local keeps serving.
    p.limiter.watch_health([serving = p.serving.get(), metrics = p.metrics.get()](
                               bool degraded, const std::string& detail) {
      serving->SetLimiterHealthy(!degraded);
      metrics->SetLimiterBackend(degraded ? LimiterBackend::kDegraded : LimiterBackend::kRedis);
      Log(degraded ? LogLevel::kWarning : LogLevel::kInfo,
          degraded ? "rate limiter degraded" : "rate limiter healthy", {{"limiter", detail}});
    });
  }

  LogStartupWarnings(p.settings, p.authorizer->checks_callers(), p.audit != nullptr);
  LogServing(
      p.settings,
      {.port = p.port,
       .admin_address = p.admin_address,
       .credentials = p.credentials->Describe(),
       .limiter = absl::StrCat(p.limiter.limiter->Describe(), "; ", p.dispatcher->Describe()),
       .query_limiter = p.query_limiter.limiter->Describe(),
       .list_limiter =
           absl::StrCat(p.list_limiter.limiter->Describe(), "; ", p.list_dispatcher->Describe()),
       .callers_checked = p.authorizer->checks_callers(),
       .caller_count = p.authorizer->caller_count()});
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(parts)));
}

GatewayServer::GatewayServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

GatewayServer::~GatewayServer() {
  if (parts_->server != nullptr) {
    parts_->server->Shutdown(absl::ToChronoTime(absl::Now()));
    parts_->server->Wait();
  }
  // The transport goes first: stopping it completes what is still in flight and drops its timers,
  // and those callbacks (calls, retries) use the limiters, the remembered cancellations and the
  // metrics, which must still be there. Declared before them, it would otherwise outlive them.
  parts_->transport.reset();
}

int GatewayServer::port() const { return parts_->port; }

const std::string& GatewayServer::admin_address() const { return parts_->admin_address; }

void GatewayServer::Reload() {
  Parts& p = *parts_;
  if (p.authorizer->checks_callers()) {
    if (absl::Status status = p.authorizer->Reload(); status.ok()) {
      p.metrics->AddCallers(p.authorizer->caller_names());
      Log(LogLevel::kInfo, "callers file reloaded",
          {{"callers_file", p.settings.security.callers_file},
           {"callers", p.authorizer->caller_count()}});
    } else {
      Log(LogLevel::kError, "callers file NOT reloaded; the previous list stays in force",
          {{"error", std::string(status.message())}, {"callers", p.authorizer->caller_count()}});
    }
  }
  if (p.audit != nullptr) {
    if (absl::Status status = p.audit->Reopen(); !status.ok()) {
      Log(LogLevel::kError, "audit log not reopened; still writing to the old file",
          {{"error", std::string(status.message())}});
    }
  }
  if (p.tls_monitor != nullptr) p.tls_monitor->CheckNow("SIGHUP");
}

void GatewayServer::Drain(int signal_number) {
  Parts& p = *parts_;
  const absl::Duration drain_timeout = p.settings.gateway.drain_timeout;
  Log(LogLevel::kInfo, "shutting down: draining in-flight calls",
      {{"signal", signal_number},
       {"in_flight", p.service->in_flight()},
       {"drain_timeout_ms", absl::ToInt64Milliseconds(drain_timeout)}});
  p.serving->StopServing();
  // The service refuses new calls itself while the accepted ones finish, and answers those still
  // open at the drain timeout. gRPC's Shutdown comes only after that, with a short grace: given
  // the whole drain timeout, it would wait it out for streams that never end by themselves, such
  // as health Watch calls from load balancers.
  p.service->StopAccepting();
  const absl::Time deadline = absl::Now() + drain_timeout;
  while (p.service->in_flight() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  if (const int64_t abandoned = p.service->AnswerAllShuttingDown(); abandoned > 0) {
    Log(LogLevel::kWarning, "drain timeout: answered the calls still open with UNAVAILABLE",
        {{"calls", abandoned}});
  }
  p.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
}

void GatewayServer::Wait() {
  parts_->server->Wait();
  Log(LogLevel::kInfo, "ota-gateway stopped", {{"in_flight", parts_->service->in_flight()}});
}

}  // namespace ota
