// Fair-share scenario of `ota-bench all` (scenario 7): what a flood from one caller does to another
// caller's latency, and how two callers with shares 3:1 split the account's slots, through a real
// gateway at the default 10 calls/s, with the budget in process or in Redis.
//
// The gateway checks callers by bearer token (a callers file this scenario writes), so each caller
// is a separate queue: "bulk" floods, "oncall" makes single calls one after another meanwhile; then
// "a" (share 3) and "b" (share 1) flood at once, behind a short warm-up by a caller with a large
// share so that both floods are queued before the slots they compete for. The split is read from
// the gateway's audit trail, in the order the calls were answered.
//
//   ota::FairShareOptions options{.gateway_argv = {...}, .work_dir = "/tmp/x"};
//   absl::StatusOr<ota::FairShareResult> r = ota::MeasureFairShare(options);
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

struct FairShareOptions {
  // ota-gateway and the flags it needs besides --listen, --callers-file and --audit-log (endpoint,
  // limiter choice).
  std::vector<std::string> gateway_argv;
  std::string work_dir;  // callers file, tokens, audit trail and the gateway's log go here
  std::string label;     // names the files: "in-process", "redis"
  int flood_calls = 250;
  int oncall_calls = 20;
  // Longer than the 525 ms in which the default budget's slots come round, so the calls land at
  // every phase of it rather than each right after the bunch that answered the one before.
  absl::Duration oncall_spacing = absl::Seconds(1);
  int split_first = 40;  // calls of the 3:1 run whose split is reported
};

struct FairShareResult {
  int flood_ok = 0;
  int oncall_ok = 0;
  std::vector<double> oncall_latency_ms;  // each on-call call, in order
  double oncall_p50_ms = 0;
  double oncall_p99_ms = 0;
  double oncall_max_ms = 0;
  int split_a = 0;  // of the first `split_first` calls answered OK to a or b
  int split_b = 0;
};

// Starts the gateway, runs both parts against it and stops it.
[[nodiscard]] absl::StatusOr<FairShareResult> MeasureFairShare(const FairShareOptions& options);

}  // namespace ota
