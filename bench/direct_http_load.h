// DirectHttpLoad: the baseline of scenarios 2 and 4, the same signed CancelOTAStrategyByJob call
// made directly to the upstream the way an in-process client would make it: one libcurl easy
// handle per calling thread, signing each call (ACS3-HMAC-SHA256, fresh nonce) right before it.
// With `fresh_connections` every call opens a new TCP connection and does a full TLS handshake
// (no connection reuse, no session resumption), i.e. what a client created per call pays.
//
//   ota::DirectHttpResult r = ota::RunDirectHttpLoad({.url = "http://127.0.0.1:8080/",
//                                                     .concurrency = 16,
//                                                     .duration = absl::Seconds(2)});
#pragma once

#include <string>

#include "absl/time/time.h"
#include "bench/latency_summary.h"

namespace ota {

struct DirectHttpOptions {
  std::string url;
  int concurrency = 1;
  absl::Duration duration = absl::Seconds(2);
  long long max_calls = 0;  // stop after this many calls in all (0: only the duration counts)
  bool fresh_connections = false;
  double paced_calls_per_second = 0;  // as GrpcLoadOptions: 0 closed loop, else a total rate
  std::string ca_file = {};           // trust anchor for https
};

struct DirectHttpResult {
  long long calls = 0;
  long long failures = 0;  // transport errors or a status other than 200
  double seconds = 0;
  double calls_per_second = 0;
  LatencySummary latency;
};

[[nodiscard]] DirectHttpResult RunDirectHttpLoad(const DirectHttpOptions& options);

}  // namespace ota
