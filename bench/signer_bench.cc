#include "bench/signer_bench.h"

#include <benchmark/benchmark.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/latency_summary.h"
#include "server/credentials/credentials.h"
#include "server/signing/rpc_signer.h"

namespace ota {
namespace {

void SignOnce(benchmark::State& state, SignatureVersion version) {
  const Endpoint endpoint{.scheme = "https", .host = "iot.cn-shanghai.aliyuncs.com", .path = "/"};
  // Lengths as real ones have: 24-character key id, 30-character secret, a long STS token.
  const Credentials credentials{.access_key_id = "LTAI5tQm9bXr2Vd7Kc4WzH8e",
                                .access_key_secret = "Jx3Pq8Lm2Nv7Rt5Wy9Za4Bc6De1Fg0",
                                .security_token = std::string(400, 'S')};
  const RpcCall call{
      .action = "CancelOTAStrategyByJob",
      .version = "2018-01-20",
      .params = {{"JobId", "HvKuBpuk3rdk6E92CP0200"}, {"IotInstanceId", "iot-cn-0pp1n8t0a01"}}};
  for (auto _ : state) {
    HttpRequest request =
        SignRpcCall(version, call, endpoint, credentials, absl::Now(), NewNonce());
    benchmark::DoNotOptimize(request);
  }
}

// Collects each run's CPU time per iteration instead of printing Google Benchmark's own table.
class Collector final : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& /*context*/) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.iterations == 0) continue;
      // Run::cpu_accumulated_time is in seconds over all iterations.
      cpu_ns[run.run_name.function_name].push_back(run.cpu_accumulated_time * 1e9 /
                                                   static_cast<double>(run.iterations));
    }
  }
  std::map<std::string, std::vector<double>> cpu_ns;
};

}  // namespace

std::vector<SignerBenchResult> RunSignerBench(absl::Duration min_time, int repetitions) {
  const std::string min_time_flag =
      absl::StrCat("--benchmark_min_time=", absl::ToDoubleSeconds(min_time));
  const std::string repetitions_flag = absl::StrCat("--benchmark_repetitions=", repetitions);
  std::string program = "ota-bench";
  std::vector<char*> argv = {program.data(), const_cast<char*>(min_time_flag.c_str()),
                             const_cast<char*>(repetitions_flag.c_str())};
  int argc = static_cast<int>(argv.size());
  benchmark::Initialize(&argc, argv.data());
  const std::vector<std::pair<std::string, SignatureVersion>> methods = {
      {"v1 HMAC-SHA1", SignatureVersion::kV1HmacSha1},
      {"v3 ACS3-HMAC-SHA256", SignatureVersion::kAcs3HmacSha256}};
  for (const auto& [name, version] : methods) {
    benchmark::RegisterBenchmark(name.c_str(), SignOnce, version);
  }
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::ClearRegisteredBenchmarks();
  std::vector<SignerBenchResult> results;
  for (const auto& [name, version] : methods) {
    const double ns = Median(collector.cpu_ns[name]);
    results.push_back({.method = name,
                       .cpu_ns_per_signature = ns,
                       .signatures_per_core_second = ns > 0 ? 1e9 / ns : 0});
  }
  return results;
}

}  // namespace ota
