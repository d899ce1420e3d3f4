// RateLimitOptions: the account's budget as Alibaba counts it (calls per window) plus the safety
// margin and burst the gateway adds, shared by every limiter backend and by the configuration.
//
//   ota::RateLimitOptions fleet{.limit = 10, .window = absl::Seconds(1)};
//   if (absl::Status ok = ota::ValidateRateLimitOptions(fleet); !ok.ok()) { /* refuse */ }
#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ota {

// ota-gateway's --rate-margin default: more than the largest difference in arrival delay between
// two requests it expects, 100 ms of jitter per request plus 100 ms for a new connection, with
// room for scheduling. Sustained throughput is limit / (window + margin): 8/s for 10 per 1s.
inline constexpr absl::Duration kDefaultGatewayRateMargin = absl::Milliseconds(250);

struct RateLimitOptions {
  int limit = 10;                            // attempts allowed per window
  absl::Duration window = absl::Seconds(1);  // Alibaba's counting window
  // Safety added to every window. The library's default is the small margin that only absorbs
  // local timing; the gateway uses kDefaultGatewayRateMargin unless told otherwise.
  absl::Duration margin = absl::Milliseconds(50);
  int burst = 5;  // attempts that may start back to back (1..limit)
};

// INVALID_ARGUMENT when a field is out of range (limit >= 1, 1 <= burst <= limit, window > 0,
// margin >= 0).
[[nodiscard]] absl::Status ValidateRateLimitOptions(const RateLimitOptions& options);

}  // namespace ota
