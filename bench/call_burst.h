// Call burst of ota-bench: fires many CancelByJob calls at one gateway at the same instant, one
// thread per call, from a single process (a burst of separate client processes would itself load
// the machine and blur the very timing under test).
//
//   std::vector<ota::BurstCallResult> results =
//       ota::FireBurst("127.0.0.1:50051", {"J1", "J2"}, absl::Seconds(60));
//   std::cout << ota::BurstResultsJson(results);
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace ota {

struct BurstCallResult {
  std::string job_id;
  bool ok = false;
  std::string code;  // canonical gRPC code name, "OK" on success
  std::string reason;
  std::string message;
  absl::Duration latency;
};

// One concurrent call per job id, each with deadline `timeout` (and `bearer_token`, when not
// empty, as the caller's credential); returns once all are answered.
[[nodiscard]] std::vector<BurstCallResult> FireBurst(const std::string& target,
                                                     const std::vector<std::string>& job_ids,
                                                     absl::Duration timeout,
                                                     const std::string& bearer_token = "");

// One JSON object per line and call.
[[nodiscard]] std::string BurstResultsJson(const std::vector<BurstCallResult>& results);

}  // namespace ota
