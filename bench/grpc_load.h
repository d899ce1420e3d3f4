// GrpcLoad: ota-bench's own closed-loop load generator for CancelByJob, on gRPC's async API.
//
// `concurrency` calls are kept in flight from one completion-queue thread: each answer is
// recorded and the slot is re-issued at once, until `duration` is over. Calls are spread over
// ceil(concurrency / 100) HTTP/2 connections, like one client process would open them. Every call
// uses its own job id ("<job_prefix><n>") so upstreams that track jobs see distinct ones.
//
//   ota::GrpcLoadResult r = ota::RunGrpcLoad({.target = "127.0.0.1:50051", .concurrency = 64,
//                                             .duration = absl::Seconds(2)});
//   printf("%.0f calls/s, p99 %.0f us\n", r.calls_per_second, r.latency.p99_us);
#pragma once

#include <map>
#include <string>

#include "absl/time/time.h"
#include "bench/latency_summary.h"

namespace ota {

struct GrpcLoadOptions {
  std::string target;
  int concurrency = 1;
  absl::Duration duration = absl::Seconds(2);
  absl::Duration call_timeout = absl::Seconds(10);
  std::string job_prefix = "bench-job-";
  long long max_calls = 0;  // stop issuing after this many calls (0: only the duration counts)
  // 0: closed loop, each caller calls again as soon as it is answered. Otherwise the callers
  // together start this many calls per second at evenly spaced times (a caller still waiting
  // when its next start comes calls as soon as it is answered): latency without queueing, as
  // long as the rate is below what the machine sustains.
  double paced_calls_per_second = 0;
};

struct GrpcLoadResult {
  long long calls = 0;                     // answered calls, any status
  std::map<std::string, long long> codes;  // canonical gRPC code name -> count
  double seconds = 0;
  double calls_per_second = 0;
  LatencySummary latency;  // over all answered calls
};

[[nodiscard]] GrpcLoadResult RunGrpcLoad(const GrpcLoadOptions& options);

// Canonical name of a gRPC status code, e.g. "RESOURCE_EXHAUSTED".
[[nodiscard]] std::string GrpcCodeName(int code);

}  // namespace ota
