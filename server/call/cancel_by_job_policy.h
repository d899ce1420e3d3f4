// CancelByJobPolicy: how the gateway carries out every CancelByJob call (endpoint, signature
// version, rate-budget key, attempts, waits, backoff); read from flags by the configuration.
//
//   ota::CancelByJobPolicy policy{.max_attempts = 3};
#pragma once

#include <string>

#include "absl/time/time.h"
#include "server/credentials/rate_budget_key.h"
#include "server/signing/rpc_signer.h"

namespace ota {

struct CancelByJobPolicy {
  Endpoint endpoint;
  SignatureVersion signature_version = SignatureVersion::kAcs3HmacSha256;
  RateBudgetKey budget_key;  // default: each attempt's AccessKeyId
  int max_attempts = 3;
  absl::Duration max_limiter_wait = absl::Seconds(30);
  // An attempt is not started with less time than this left before the deadline.
  absl::Duration min_attempt_time = absl::Milliseconds(100);
  // Kept back from each cancel attempt's deadline (when the attempt still gets min_attempt_time),
  // so an answer lost at the deadline can still be settled with QueryOTAJob and the caller
  // answered before its own deadline: the query runs until a third of it before the deadline.
  absl::Duration settle_time = absl::Milliseconds(250);
  absl::Duration backoff_base = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(2);
};

}  // namespace ota
