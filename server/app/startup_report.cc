#include "server/app/startup_report.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/base/build_info.h"
#include "server/base/json_logger.h"

namespace ota {

void LogStartupWarnings(const GatewaySettings& settings, bool callers_checked, bool audited) {
  const GatewayConfig& config = settings.gateway;
  const SecurityConfig& security = settings.security;
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
  } else if (!callers_checked) {
    Log(LogLevel::kWarning, "callers are not checked (--allow-unauthenticated)");
  }
  if (security.plaintext && callers_checked) {
    Log(LogLevel::kWarning,
        "bearer tokens travel in cleartext without TLS; use this only behind a TLS-terminating "
        "proxy on a trusted network");
  }
  if (!audited) {
    Log(LogLevel::kWarning, "no audit trail (--audit-log not set); production should set it");
  }
}

void LogServing(const GatewaySettings& settings, const ServingReport& report) {
  const GatewayConfig& config = settings.gateway;
  const SecurityConfig& security = settings.security;
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  nlohmann::ordered_json fields = {
      {"listen", absl::StrCat(host, ":", report.port)},
      {"upstream", config.endpoint_url},
      {"signature", std::string(SignatureVersionName(config.policy.signature_version))},
      {"credentials", report.credentials},
      {"limiter", report.limiter},
      {"query_limiter", report.query_limiter},
      {"list_limiter", report.list_limiter},
      {"max_attempts", config.policy.max_attempts},
      {"transport", security.plaintext                    ? "plaintext"
                    : security.tls.client_ca_file.empty() ? "tls"
                                                          : "mtls"},
      {"callers", report.callers_checked ? nlohmann::ordered_json(report.caller_count)
                                         : nlohmann::ordered_json("unchecked")},
      {"audit_log", security.audit_log},
      {"max_pending_calls", config.max_pending_calls},
      {"dedup_inflight", config.dedup_inflight}};
  fields["admin"] = report.admin_address.empty() ? std::string("off") : report.admin_address;
  // The project and the contract (proto/ota/v1, stubs/VERSION) share one version.
  fields["contract_version"] = CurrentBuild().version;
  Log(LogLevel::kInfo, "ota-gateway serving", fields);
}

}  // namespace ota
