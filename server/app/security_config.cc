#include "server/app/security_config.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "cli_flags/environment_flags.h"

ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain for the gRPC port (with --tls-key-file). Re-read from disk every "
          "--tls-reload-interval.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls-cert-file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: clients must present a certificate it verifies (mutual TLS).");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "How often the TLS files are checked for changes (whole seconds). New handshakes use "
          "the new files; connections already open are kept.");
ABSL_FLAG(bool, plaintext, false,
          "Serve gRPC without TLS. Required when no --tls-cert-file is given; only for loopback "
          "or behind a proxy that terminates TLS.");
ABSL_FLAG(std::string, callers_file, "",
          "JSON allow-list of callers (mTLS SAN/CN or SHA-256 of a bearer token), the "
          "iot_instance_ids each may use, and each one's share of the quota (share, max_queued); "
          "reloaded on SIGHUP. See README 'Security'.");
ABSL_FLAG(bool, allow_unauthenticated, false,
          "Let every caller through without checking who it is. Required when no "
          "--callers-file is given. Callers may then name themselves (x-ota-caller metadata, "
          "unverified) for the fair share of the quota.");
ABSL_FLAG(std::string, audit_log, "",
          "Append one JSON line per call to this file (meant to be on in production); empty: "
          "off. Reopened on SIGHUP.");
ABSL_FLAG(bool, hash_token, false,
          "Print the SHA-256 (hex) of the bearer token read from stdin, for token_sha256 in the "
          "callers file, and exit.");

namespace ota {

void ApplySecurityEnvironmentFallbacks() {
  ApplyEnvironmentFallbacks(
      "ota-gateway", "OTA_",
      {"tls_cert_file", "tls_key_file", "tls_client_ca_file", "tls_reload_interval", "plaintext",
       "callers_file", "allow_unauthenticated", "audit_log"});
}

bool HashTokenRequested() { return absl::GetFlag(FLAGS_hash_token); }

absl::StatusOr<SecurityConfig> LoadSecurityConfig(bool emulator_mode) {
  SecurityConfig config;
  config.tls = {.cert_file = absl::GetFlag(FLAGS_tls_cert_file),
                .key_file = absl::GetFlag(FLAGS_tls_key_file),
                .client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file)};
  config.plaintext = absl::GetFlag(FLAGS_plaintext);
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert-file and --tls-key-file go together");
  }
  const bool tls = !config.tls.cert_file.empty();
  if (!tls && !config.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca-file needs --tls-cert-file and --tls-key-file (mutual TLS is TLS)");
  }
  if (tls && config.plaintext) {
    return absl::InvalidArgumentError(
        "--plaintext contradicts --tls-cert-file/--tls-key-file; pass one or the other");
  }
  if (!tls && !config.plaintext) {
    if (!emulator_mode) {
      return absl::InvalidArgumentError(
          "refusing to serve gRPC without TLS: pass --tls-cert-file and --tls-key-file (and "
          "--tls-client-ca-file for mutual TLS), or --plaintext if a proxy terminates TLS or "
          "the port is loopback only");
    }
    config.plaintext = true;
    config.plaintext_implied = true;
  }
  config.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  if (config.tls_reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls-reload-interval: must be at least 1s");
  }

  config.callers_file = absl::GetFlag(FLAGS_callers_file);
  const bool allow_unauthenticated = absl::GetFlag(FLAGS_allow_unauthenticated);
  if (!config.callers_file.empty() && allow_unauthenticated) {
    return absl::InvalidArgumentError(
        "--allow-unauthenticated contradicts --callers-file; pass one or the other");
  }
  if (config.callers_file.empty() && !allow_unauthenticated) {
    if (!emulator_mode) {
      return absl::InvalidArgumentError(
          "refusing to serve callers without checking who they are: pass --callers-file with "
          "the allowed callers (see README 'Security'), or --allow-unauthenticated if every "
          "client that can reach the port may cancel OTA jobs");
    }
    config.unauthenticated_implied = true;
  }
  config.audit_log = absl::GetFlag(FLAGS_audit_log);
  return config;
}

}  // namespace ota
