// GatewaySuite: `ota-bench all`, every scenario of the performance issues in one run, printed as
// one report and written as one JSON file. Every comparison (gateway vs ceiling, gateway vs a
// direct call, reuse vs fresh connections) is measured in the same run, interleaved repetition by
// repetition, and quoted as a ratio or difference of medians.
//
//   ota::SuiteOptions options = ota::SuiteOptions::Full();  // or Smoke(): a few seconds, for CI
//   options.gateway = "build/server/ota-gateway";
//   return ota::RunGatewaySuite(options);
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace ota {

struct SuiteOptions {
  std::string self;     // this ota-bench binary (runs the ceiling server)
  std::string gateway;  // ota-gateway binary
  // Another ota-gateway binary (e.g. the previous release) measured beside `gateway` in scenario 1,
  // interleaved run by run: its CPU per call is the baseline the gateway's is compared with.
  // Empty: none.
  std::string baseline_gateway;
  std::string nginx = "/usr/sbin/nginx";
  std::string ghz;        // empty or missing: the ghz cross-check is skipped and says so
  std::string proto_dir;  // for ghz
  std::string work_dir;   // logs, certificates, nginx config
  std::string json_path = "bench_report.json";

  bool smoke = false;
  absl::Duration run_duration = absl::Seconds(2);
  int repetitions = 3;
  std::vector<int> concurrency = {1, 16, 64, 256};
  std::vector<int> waiters = {1000, 10000};
  int https_calls = 2000;
  int startups = 5;
  absl::Duration signer_min_time = absl::Milliseconds(300);
  // Scenario 7 (fair share): the flood's and the on-call caller's sizes.
  int fair_flood_calls = 250;
  int fair_oncall_calls = 20;
  int fair_split_first = 40;
  // Which scenarios (1-7) to run; the default is all of them. A partial run is for working on
  // one figure: its report says which scenarios it left out.
  std::vector<int> scenarios = {1, 2, 3, 4, 5, 6, 7};
  // Added to every ota-gateway the suite starts (e.g. {"--log-level=warning"}), to measure what
  // a setting costs.
  std::vector<std::string> gateway_flags = {};

  [[nodiscard]] static SuiteOptions Full() { return {}; }
  [[nodiscard]] static SuiteOptions Smoke();
};

// Runs the suite; 0 when every scenario ran (targets missed still return 0: they are findings,
// reported in the table), 1 when a scenario could not run.
[[nodiscard]] int RunGatewaySuite(const SuiteOptions& options);

}  // namespace ota
