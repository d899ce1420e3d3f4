#include "server/app/gateway_config.h"

#include <algorithm>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli_flags/environment_flags.h"
#include "server/signing/iot_api.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "gRPC listen address, HOST:PORT.");
ABSL_FLAG(std::string, region, "cn-shanghai",
          "Alibaba Cloud region of the IoT Platform instance; the default endpoint is "
          "https://iot.<region>.aliyuncs.com/.");
ABSL_FLAG(std::string, endpoint, "",
          "Full upstream URL, overriding --region (http:// is allowed for local testing, e.g. "
          "against iot-emulator).");
ABSL_FLAG(
    bool, emulator, false,
    "Explicit emulator mode for demos and tests: the upstream defaults to a local "
    "iot-emulator (http://127.0.0.1:18080/) and, when no ALIBABA_CLOUD_* credentials are set, "
    "the emulator's public demo AccessKey is used. Never use in production.");
ABSL_FLAG(std::string, signature_version, "v3",
          "Request signature: v3 (ACS3-HMAC-SHA256, what current official SDKs send) or v1 "
          "(HMAC-SHA1).");
ABSL_FLAG(int, qps, 10,
          "Calls per second the Alibaba account allows for CancelOTAStrategyByJob (shared by all "
          "its RAM users and by every replica sharing the limiter).");
ABSL_FLAG(int, burst, 0,
          "How many calls may start back to back (1..qps); 0 = half of --qps (5 for 10/s).");
ABSL_FLAG(absl::Duration, rate_margin, ota::kDefaultGatewayRateMargin,
          "Safety margin added to each 1s window so arrival jitter cannot push 11 calls into "
          "one second at Alibaba's end: it must exceed the largest difference in delay between "
          "two requests (the default covers up to 100ms per request plus 100ms for a new "
          "connection). It costs quota: sustained throughput is qps / (1s + margin), 8/s at "
          "10/s. Actual departures are also paced over 1s + half of it (0s: not paced).");
ABSL_FLAG(int, query_qps, 10,
          "Calls per second the Alibaba account allows for QueryOTAJob, which settles the outcome "
          "of a cancel whose answer was lost or that Alibaba refused. A budget of its own (same "
          "limiter backend and margin), never taken from CancelOTAStrategyByJob's.");
ABSL_FLAG(int, list_qps, 10,
          "Calls per second the Alibaba account allows for ListOTAJobByFirmware, which "
          "ListJobsByFirmware pages through. A budget of its own (same limiter backend and margin, "
          "shared fairly between callers like the cancels'), never taken from "
          "CancelOTAStrategyByJob's.");
ABSL_FLAG(absl::Duration, remember_cancelled, absl::Hours(24),
          "How long batches this gateway cancelled (or found cancelled) are remembered, so a "
          "repeated cancel answers OK ALREADY_CANCELLED with the original RequestId without "
          "calling Alibaba (at most 100000 batches, least recently used dropped first; shared "
          "through Redis with --limiter=redis). 0s: not remembered.");
ABSL_FLAG(std::string, limiter_key, "",
          "Name of the shared budget. Use the Alibaba account ID so every AccessKey of the account "
          "shares one budget; default: the AccessKeyId.");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(30),
          "Longest a call may wait for a limiter slot, whatever its deadline; beyond it the call "
          "fails at once with RESOURCE_EXHAUSTED and RetryInfo.");
ABSL_FLAG(absl::Duration, default_timeout, absl::Seconds(10),
          "Deadline applied to calls that arrive without one.");
ABSL_FLAG(int, max_attempts, 3,
          "Upstream attempts per call (retries only after throttling, 5xx, "
          "iot.system.SystemException and network failures; each takes a limiter slot).");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(3), "Upstream TCP+TLS connect timeout.");
ABSL_FLAG(absl::Duration, request_timeout, absl::Seconds(10),
          "Upstream timeout per attempt (the caller's deadline also applies).");
ABSL_FLAG(int, max_connections, 8, "Upstream connections kept open for reuse.");
ABSL_FLAG(std::string, ca_file, "",
          "Extra CA bundle (PEM) to verify the upstream with; default: the system store. "
          "Verification cannot be turned off.");
ABSL_FLAG(std::string, error_map, "",
          "File of extra Alibaba error mappings, one 'Code=GRPC_CODE' a line (e.g. "
          "iot.ota.SomeCode=FAILED_PRECONDITION).");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(20),
          "On SIGTERM, how long in-flight calls may take to finish before they are cancelled.");
ABSL_FLAG(int64_t, max_pending_calls, 10000,
          "Calls accepted and not yet answered (waiting for a rate-limiter slot or for Alibaba); "
          "beyond it a call is refused at once with RESOURCE_EXHAUSTED (GATEWAY_OVERLOADED). One "
          "caller may keep a quarter of it waiting for slots (max_queued in the callers file "
          "overrides), beyond that RESOURCE_EXHAUSTED (CALLER_QUEUE_FULL).");
ABSL_FLAG(bool, dedup_inflight, true,
          "Let concurrent identical calls (same account, JobId and IotInstanceId) share one "
          "upstream call and its outcome.");
ABSL_FLAG(std::string, log_level, "info", "Log level: debug, info, warning or error.");
ABSL_FLAG(std::string, admin_listen, "",
          "Admin HTTP address, HOST:PORT (port 0: any free port, logged at start-up): GET /metrics "
          "(Prometheus), /healthz, /readyz. Empty: no admin server. Keep it off the callers' "
          "network.");

namespace ota {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", problem));
}

absl::Status CheckPositive(absl::string_view flag, absl::Duration value) {
  if (value <= absl::ZeroDuration()) return FlagError(flag, "must be a positive duration, e.g. 5s");
  return absl::OkStatus();
}

}  // namespace

void ApplyGatewayEnvironmentFallbacks() {
  ApplyEnvironmentFallbacks("ota-gateway", "OTA_",
                            {"listen",
                             "region",
                             "endpoint",
                             "emulator",
                             "signature_version",
                             "qps",
                             "burst",
                             "rate_margin",
                             "query_qps",
                             "list_qps",
                             "remember_cancelled",
                             "limiter_key",
                             "max_wait",
                             "default_timeout",
                             "max_attempts",
                             "connect_timeout",
                             "request_timeout",
                             "max_connections",
                             "ca_file",
                             "error_map",
                             "drain_timeout",
                             "log_level",
                             "max_pending_calls",
                             "dedup_inflight"});
  ApplyEnvironmentFallbacks("ota-gateway", "OTA_", {"admin_listen"});
}

absl::StatusOr<GatewayConfig> LoadGatewayConfig() {
  GatewayConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  if (config.listen.empty() || config.listen.find(':') == std::string::npos) {
    return FlagError("listen", "must be HOST:PORT, e.g. 127.0.0.1:50051 or 0.0.0.0:50051");
  }
  config.emulator_mode = absl::GetFlag(FLAGS_emulator);

  const std::string region = absl::GetFlag(FLAGS_region);
  for (char c : region) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return FlagError("region", "must look like cn-shanghai (letters, digits and '-')");
    }
  }
  config.endpoint_url = absl::GetFlag(FLAGS_endpoint);
  if (config.endpoint_url.empty()) {
    config.endpoint_url = config.emulator_mode
                              ? std::string(kEmulatorDefaultEndpoint)
                              : absl::StrCat("https://iot.", region, ".aliyuncs.com/");
  }
  absl::StatusOr<Endpoint> endpoint = ParseEndpoint(config.endpoint_url);
  if (!endpoint.ok()) return FlagError("endpoint", endpoint.status().message());
  config.policy.endpoint = *std::move(endpoint);

  absl::StatusOr<SignatureVersion> signature =
      ParseSignatureVersion(absl::GetFlag(FLAGS_signature_version));
  if (!signature.ok()) return FlagError("signature-version", signature.status().message());
  config.policy.signature_version = *signature;

  config.rate_limit.limit = absl::GetFlag(FLAGS_qps);
  config.rate_limit.burst = absl::GetFlag(FLAGS_burst);
  if (config.rate_limit.burst == 0)
    config.rate_limit.burst = std::max(1, config.rate_limit.limit / 2);
  config.rate_limit.margin = absl::GetFlag(FLAGS_rate_margin);
  if (absl::Status status = ValidateRateLimitOptions(config.rate_limit); !status.ok()) {
    return FlagError("qps/--burst/--rate-margin", status.message());
  }
  config.query_rate_limit = config.rate_limit;
  config.query_rate_limit.limit = absl::GetFlag(FLAGS_query_qps);
  config.query_rate_limit.burst = std::max(1, config.query_rate_limit.limit / 2);
  if (absl::Status status = ValidateRateLimitOptions(config.query_rate_limit); !status.ok()) {
    return FlagError("query-qps", status.message());
  }
  config.list_rate_limit = config.rate_limit;
  config.list_rate_limit.limit = absl::GetFlag(FLAGS_list_qps);
  config.list_rate_limit.burst = std::max(1, config.list_rate_limit.limit / 2);
  if (absl::Status status = ValidateRateLimitOptions(config.list_rate_limit); !status.ok()) {
    return FlagError("list-qps", status.message());
  }
  config.remember_cancelled = absl::GetFlag(FLAGS_remember_cancelled);
  if (config.remember_cancelled < absl::ZeroDuration()) {
    return FlagError("remember-cancelled", "must be a duration of 0s or more, e.g. 24h");
  }
  config.limiter_key = absl::GetFlag(FLAGS_limiter_key);

  config.policy.max_limiter_wait = absl::GetFlag(FLAGS_max_wait);
  if (config.policy.max_limiter_wait < absl::ZeroDuration()) {
    return FlagError("max-wait", "must not be negative");
  }
  config.default_timeout = absl::GetFlag(FLAGS_default_timeout);
  if (absl::Status s = CheckPositive("default-timeout", config.default_timeout); !s.ok()) return s;
  config.policy.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  if (config.policy.max_attempts < 1 || config.policy.max_attempts > 10) {
    return FlagError("max-attempts", "must be between 1 and 10");
  }

  config.transport.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  if (absl::Status s = CheckPositive("connect-timeout", config.transport.connect_timeout);
      !s.ok()) {
    return s;
  }
  config.transport.request_timeout = absl::GetFlag(FLAGS_request_timeout);
  if (absl::Status s = CheckPositive("request-timeout", config.transport.request_timeout);
      !s.ok()) {
    return s;
  }
  config.transport.max_connections = absl::GetFlag(FLAGS_max_connections);
  if (config.transport.max_connections < 1 || config.transport.max_connections > 1024) {
    return FlagError("max-connections", "must be between 1 and 1024");
  }
  config.transport.ca_file = absl::GetFlag(FLAGS_ca_file);
  // The slots keep the whole margin; the transport also paces actual departures to the quota over
  // the window plus half the margin. A departure that lags its slot by less than half the margin
  // (a kept-alive connection) is never held, one that lags more (a new connection's handshakes) is,
  // and a held chain catches up by half the margin per window. Margin 0 trusts slot times as
  // they are, so departures are not paced. ListOTAJobByFirmware is paced to its own quota, as
  // Alibaba counts it apart; QueryOTAJob leaves with the cancels it settles (cancel_call.cc).
  if (config.rate_limit.margin > absl::ZeroDuration()) {
    config.transport.departure_limit = config.rate_limit.limit;
    config.transport.departure_window = config.rate_limit.window + config.rate_limit.margin / 2;
    config.transport.departure_limits = {{kCancelAction, config.rate_limit.limit},
                                         {kListJobsByFirmwareAction, config.list_rate_limit.limit}};
  }

  config.error_map_file = absl::GetFlag(FLAGS_error_map);
  config.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  if (config.drain_timeout < absl::ZeroDuration()) {
    return FlagError("drain-timeout", "must not be negative");
  }
  config.max_pending_calls = absl::GetFlag(FLAGS_max_pending_calls);
  if (config.max_pending_calls < 1) return FlagError("max-pending-calls", "must be at least 1");
  config.dedup_inflight = absl::GetFlag(FLAGS_dedup_inflight);
  absl::StatusOr<LogLevel> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return FlagError("log-level", level.status().message());
  config.log_level = *level;
  config.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  if (!config.admin_listen.empty()) {
    const std::size_t colon = config.admin_listen.rfind(':');
    int port = -1;
    if (colon == std::string::npos ||
        !absl::SimpleAtoi(config.admin_listen.substr(colon + 1), &port) || port < 0 ||
        port > 65535) {
      return FlagError("admin-listen", "must be HOST:PORT, e.g. 127.0.0.1:9090 or 0.0.0.0:9090");
    }
  }
  return config;
}

}  // namespace ota
