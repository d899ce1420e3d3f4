// GatewaySettings: everything ota-gateway is told at start-up, read from its flags (each flag
// --some-name may instead be set as the environment variable OTA_SOME_NAME; the command line wins).
// Alibaba credentials are never flags: they come from the standard credential chain.
//
//   ota::ApplyGatewayEnvironment();          // before absl::ParseCommandLine
//   absl::ParseCommandLine(argc, argv);
//   absl::StatusOr<ota::GatewaySettings> settings = ota::LoadGatewaySettings();
#pragma once

#include "absl/status/statusor.h"
#include "server/app/gateway_config.h"
#include "server/app/limiter_config.h"
#include "server/app/security_config.h"
#include "server/credentials/sources/credential_chain.h"

namespace ota {

struct GatewaySettings {
  GatewayConfig gateway;               // listen, upstream, call policy, timeouts, admin port
  LimiterConfig limiter;               // where the rate budget lives
  SecurityConfig security;             // TLS, callers, audit trail
  CredentialChainOptions credentials;  // where the temporary-credential services are
};

// Makes every OTA_* variable the default of its flag. Exits with a message naming the variable
// when a value does not parse.
void ApplyGatewayEnvironment();

// Reads and checks every flag. INVALID_ARGUMENT names the flag and what a valid value looks like.
[[nodiscard]] absl::StatusOr<GatewaySettings> LoadGatewaySettings();

}  // namespace ota
