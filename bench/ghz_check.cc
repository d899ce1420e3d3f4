#include "bench/ghz_check.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/testing/child_process.h"

namespace ota {

using ::ota::testing::ChildProcess;

absl::StatusOr<GhzResult> RunGhz(const GhzOptions& options) {
  // As many HTTP/2 connections as ota-bench's own generator opens for the same concurrency.
  const int connections = (options.concurrency + 99) / 100;
  absl::StatusOr<ChildProcess> ghz = ChildProcess::Start(
      {options.ghz, "--insecure",
       absl::StrCat("--proto=", options.proto_dir, "/ota/v1/ota_strategy_service.proto"),
       absl::StrCat("--import-paths=", options.proto_dir),
       "--call=ota.v1.OtaStrategyService.CancelByJob",
       R"(--data={"job_id":"bench-ghz-{{.RequestNumber}}"})",
       absl::StrCat("--concurrency=", options.concurrency),
       absl::StrCat("--connections=", connections),
       absl::StrCat("--duration=", absl::ToInt64Milliseconds(options.duration), "ms"),
       "--timeout=10s", "--format=json", absl::StrCat("--output=", options.output_file),
       options.target},
      options.output_file + ".log");
  if (!ghz.ok()) return ghz.status();
  if (const int code = ghz->Wait(); code != 0) {
    return absl::InternalError(
        absl::StrCat("ghz exited with ", code, "; see ", options.output_file, ".log"));
  }
  std::ifstream in(options.output_file);
  const nlohmann::json report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded() || !report.contains("rps")) {
    return absl::InternalError(absl::StrCat("unreadable ghz report ", options.output_file));
  }
  GhzResult result;
  result.calls = report.value("count", 0LL);
  result.calls_per_second = report.value("rps", 0.0);
  if (report.contains("statusCodeDistribution")) {
    result.ok_calls = report["statusCodeDistribution"].value("OK", 0LL);
  }
  for (const nlohmann::json& point : report.value("latencyDistribution", nlohmann::json::array())) {
    // ghz reports latencies in nanoseconds.
    const int percentage = point.value("percentage", 0);
    const double us = point.value("latency", 0.0) / 1000.0;
    if (percentage == 50) result.p50_us = us;
    if (percentage == 99) result.p99_us = us;
  }
  return result;
}

}  // namespace ota
