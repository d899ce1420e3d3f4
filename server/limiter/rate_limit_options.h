// RateLimitOptions: the account's budget as Alibaba counts it (calls per window) plus the safety
// margin and burst the gateway adds, shared by every limiter backend and by the configuration.
//
//   ota::RateLimitOptions fleet{.limit = 10, .window = absl::Seconds(1)};
//   if (absl::Status ok = ota::ValidateRateLimitOptions(fleet); !ok.ok()) { /* refuse */ }
#pragma once

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ota {

struct RateLimitOptions {
  int limit = 10;                                  // attempts allowed per window
  absl::Duration window = absl::Seconds(1);        // Alibaba's counting window
  absl::Duration margin = absl::Milliseconds(50);  // safety added to every window
  int burst = 5;  // attempts that may start back to back (1..limit)
};

// INVALID_ARGUMENT when a field is out of range (limit >= 1, 1 <= burst <= limit, window > 0,
// margin >= 0).
[[nodiscard]] absl::Status ValidateRateLimitOptions(const RateLimitOptions& options);

}  // namespace ota
