// WaitingCallers: scenario 3, thousands of CancelByJob calls parked behind the account's 10/s
// limiter at once. Measures what the waiting costs ota-gateway (resident memory, threads) at
// several queue lengths, and checks that a call whose deadline the queue cannot meet is refused at
// once with RESOURCE_EXHAUSTED (and a RetryInfo saying when a slot frees up) instead of queueing.
//
//   ota::WaitingCallersResult r = ota::MeasureWaitingCallers(gateway_target, gateway_pid,
//                                                            {1000, 10000}, absl::Seconds(2));
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/process_probe.h"

namespace ota {

struct WaitingLevel {
  int waiters = 0;         // calls in flight when the gateway was sampled
  ProcessSample gateway;   // sampled while they wait
  long long answered = 0;  // of them, answered before the sample (the limiter lets ~10/s go)
};

struct WaitingCallersResult {
  ProcessSample idle;                // before any call waits (each connection warmed by one call)
  std::vector<WaitingLevel> levels;  // ascending waiters
  // Probes with a short deadline sent while the largest queue waits.
  absl::Duration probe_deadline;
  std::map<std::string, int> probe_codes;
  double probe_p50_ms = 0;
  double probe_max_ms = 0;
  double probe_retry_delay_s = 0;  // median RetryInfo.retry_delay of the refused probes
};

// Drives `target` (a gateway with the default 10/s limiter and a --max-wait longer than the queue)
// up to each count in `waiter_counts`, waits `settle`, samples `gateway_pid`; then sends probes
// with deadline `probe_deadline`. Every call still waiting is cancelled before returning.
[[nodiscard]] WaitingCallersResult MeasureWaitingCallers(const std::string& target,
                                                         pid_t gateway_pid,
                                                         const std::vector<int>& waiter_counts,
                                                         absl::Duration settle,
                                                         absl::Duration probe_deadline, int probes);

}  // namespace ota
