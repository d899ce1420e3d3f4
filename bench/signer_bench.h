// SignerBench: scenario 5, signatures per second per core of SignRpcCall for v1 (HMAC-SHA1) and
// v3 (ACS3-HMAC-SHA256), measured with Google Benchmark on a realistic CancelOTAStrategyByJob call
// (instance id, STS token, fresh nonce and timestamp per signature, as every gateway attempt has).
//
//   std::vector<ota::SignerBenchResult> r = ota::RunSignerBench(absl::Seconds(1));
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace ota {

struct SignerBenchResult {
  std::string method;  // "v1 HMAC-SHA1" / "v3 ACS3-HMAC-SHA256"
  double cpu_ns_per_signature = 0;
  double signatures_per_core_second = 0;
};

// Runs each benchmark `repetitions` times for about `min_time` each; reports the median.
[[nodiscard]] std::vector<SignerBenchResult> RunSignerBench(absl::Duration min_time,
                                                            int repetitions);

}  // namespace ota
