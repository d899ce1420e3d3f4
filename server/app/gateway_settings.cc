#include "server/app/gateway_settings.h"

#include <utility>

#include "server/app/credentials_flags.h"

namespace ota {

void ApplyGatewayEnvironment() {
  ApplyGatewayEnvironmentFallbacks();
  ApplyLimiterEnvironmentFallbacks();
  ApplySecurityEnvironmentFallbacks();
  ApplyCredentialsEnvironmentFallbacks();
}

absl::StatusOr<GatewaySettings> LoadGatewaySettings() {
  absl::StatusOr<GatewayConfig> gateway = LoadGatewayConfig();
  if (!gateway.ok()) return gateway.status();
  absl::StatusOr<LimiterConfig> limiter = LoadLimiterConfig();
  if (!limiter.ok()) return limiter.status();
  absl::StatusOr<SecurityConfig> security = LoadSecurityConfig(gateway->emulator_mode);
  if (!security.ok()) return security.status();
  absl::StatusOr<CredentialChainOptions> credentials =
      LoadCredentialChainOptions(gateway->emulator_mode);
  if (!credentials.ok()) return credentials.status();
  return GatewaySettings{.gateway = *std::move(gateway),
                         .limiter = *std::move(limiter),
                         .security = *std::move(security),
                         .credentials = *std::move(credentials)};
}

}  // namespace ota
