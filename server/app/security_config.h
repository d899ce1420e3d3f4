// SecurityConfig: how ota-gateway protects its gRPC port, read from the security flags.
//
//   --tls-cert-file=PEM --tls-key-file=PEM   serve TLS (both or neither)
//   --tls-client-ca-file=PEM                 and require client certificates it verifies (mTLS)
//   --tls-reload-interval=10s                how often the files are re-read from disk
//   --plaintext                              serve without TLS (required when no certificate is
//   given)
//   --callers-file=JSON                      allow-list of callers (caller_allowlist.h)
//   --allow-unauthenticated                  let every caller through (required without a callers
//   file)
//   --audit-log=PATH                         one JSON line per call (audit_log.h); empty: off
//
// Insecure choices must be spelled out: without a certificate the gateway refuses to start unless
// --plaintext is given, and without a callers file unless --allow-unauthenticated is given.
// --emulator (demo mode) implies both, and the gateway then says so loudly.
//
//   ota::ApplySecurityEnvironmentFallbacks();   // before absl::ParseCommandLine
//   absl::StatusOr<ota::SecurityConfig> security = ota::LoadSecurityConfig(config.emulator_mode);
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/security/grpc_tls_credentials.h"

namespace ota {

struct SecurityConfig {
  bool plaintext = false;
  bool plaintext_implied = false;  // by --emulator
  GrpcTlsFiles tls;                // empty cert_file when plaintext
  absl::Duration tls_reload_interval = absl::Seconds(10);
  std::string callers_file;              // empty: every caller is let through
  bool unauthenticated_implied = false;  // by --emulator
  std::string audit_log;                 // empty: off
};

// For each security flag --x-y whose variable OTA_X_Y is set, makes that value the flag's default.
void ApplySecurityEnvironmentFallbacks();

// Reads and checks the flags. INVALID_ARGUMENT names the flag and what to pass instead.
[[nodiscard]] absl::StatusOr<SecurityConfig> LoadSecurityConfig(bool emulator_mode);

// Whether --hash-token was given: print the SHA-256 of the token on stdin and exit.
[[nodiscard]] bool HashTokenRequested();

}  // namespace ota
