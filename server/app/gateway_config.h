// GatewayConfig: every setting of ota-gateway, read from flags with environment fallbacks.
//
// Each flag --some-name can also be set through the environment variable OTA_SOME_NAME; a flag
// given on the command line wins. Alibaba credentials come only from the environment (see
// credentials.h), never from flags, so they stay out of `ps` and shell history.
//
//   ota::ApplyGatewayEnvironmentFallbacks();   // before absl::ParseCommandLine
//   absl::ParseCommandLine(argc, argv);
//   absl::StatusOr<ota::GatewayConfig> config = ota::LoadGatewayConfig();
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/json_logger.h"
#include "server/call/cancel_by_job_policy.h"
#include "server/http/transport_options.h"
#include "server/limiter/rate_limit_options.h"

namespace ota {

// The iot-emulator's default address, used by --emulator when --endpoint is not given.
inline constexpr char kEmulatorDefaultEndpoint[] = "http://127.0.0.1:18080/";

struct GatewayConfig {
  std::string listen;
  std::string endpoint_url;  // resolved: --endpoint, or the emulator's, or from --region
  bool emulator_mode = false;
  CancelByJobPolicy policy;  // endpoint, signature version, retries (budget key: at start-up)
  std::string limiter_key;   // --limiter-key; empty: chosen from the credentials (RateBudgetKey)
  RateLimitOptions rate_limit;
  RateLimitOptions query_rate_limit;  // QueryOTAJob's own budget (--query-qps)
  RateLimitOptions list_rate_limit;   // ListOTAJobByFirmware's own budget (--list-qps)
  absl::Duration remember_cancelled;  // how long cancelled batches are remembered; 0: not at all
  CurlTransportOptions transport;
  absl::Duration default_timeout;  // deadline for callers that set none
  absl::Duration drain_timeout;
  int64_t max_pending_calls = 10000;  // accepted, unanswered calls; beyond: GATEWAY_OVERLOADED
  bool dedup_inflight = true;         // identical concurrent calls share one upstream call
  std::string error_map_file;
  LogLevel log_level = LogLevel::kInfo;
  std::string admin_listen;  // HOST:PORT of the admin HTTP server (/metrics, probes); empty: off
};

// For every registered ota-gateway flag --x-y whose variable OTA_X_Y is set, makes that value the
// flag's default. Exits with a message naming the variable if a value does not parse.
void ApplyGatewayEnvironmentFallbacks();

// Reads and checks the flags. INVALID_ARGUMENT names the flag and what a valid value looks like.
[[nodiscard]] absl::StatusOr<GatewayConfig> LoadGatewayConfig();

}  // namespace ota
