// GhzCheck: the independent cross-check of scenario 1, the same calls made by ghz (the standard
// gRPC load tool, pinned in scripts/setup.sh), so the report does not rest on ota-bench's own load
// generator alone.
//
//   absl::StatusOr<ota::GhzResult> r = ota::RunGhz({.ghz = ".tools/bin/ghz", .proto_dir = "proto",
//       .target = "127.0.0.1:50051", .concurrency = 64, .duration = absl::Seconds(2),
//       .output_file = "/tmp/ghz.json"});
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

struct GhzOptions {
  std::string ghz;        // the ghz binary
  std::string proto_dir;  // holds ota/v1/ota_strategy_service.proto
  std::string target;
  int concurrency = 1;
  absl::Duration duration = absl::Seconds(2);
  std::string output_file;  // where ghz writes its JSON report
};

struct GhzResult {
  long long calls = 0;
  long long ok_calls = 0;
  double calls_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
};

[[nodiscard]] absl::StatusOr<GhzResult> RunGhz(const GhzOptions& options);

}  // namespace ota
