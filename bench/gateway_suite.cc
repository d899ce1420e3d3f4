#include "bench/gateway_suite.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench/direct_http_load.h"
#include "bench/fair_share_bench.h"
#include "bench/ghz_check.h"
#include "bench/grpc_load.h"
#include "bench/health_probe.h"
#include "bench/latency_summary.h"
#include "bench/loopback_upstream.h"
#include "bench/process_probe.h"
#include "bench/signer_bench.h"
#include "bench/waiting_callers.h"
#include "nlohmann/json.hpp"
#include "server/testing/child_process.h"
#include "server/testing/redis_test_server.h"

namespace ota {
namespace {

using ::ota::testing::ChildProcess;
using ::ota::testing::FreeLoopbackPort;

using Json = nlohmann::ordered_json;

// The SDK figure the issue compares against: CPU per call of the official C++ SDK in-process.
constexpr double kSdkCpuUsPerCall = 140;

struct Server {
  ChildProcess process;
  std::string target;
};

// A server process on a fresh loopback port, returned once its health check says SERVING.
absl::StatusOr<Server> StartServer(std::vector<std::string> argv, const std::string& log_path) {
  const int port = FreeLoopbackPort();
  const std::string target = absl::StrCat("127.0.0.1:", port);
  argv.push_back(absl::StrCat("--listen=", target));
  absl::StatusOr<ChildProcess> process = ChildProcess::Start(argv, log_path);
  if (!process.ok()) return process.status();
  if (!WaitUntilServing(target, absl::Seconds(10))) {
    return absl::UnavailableError(absl::StrCat(argv[0], " did not serve; see ", log_path));
  }
  return Server{*std::move(process), target};
}

std::vector<std::string> GatewayArgs(const SuiteOptions& o, const std::string& upstream,
                                     std::vector<std::string> extra) {
  // Loopback benchmark: no TLS, callers unchecked (the same as the e2e suites' default).
  std::vector<std::string> argv = {o.gateway, "--emulator", "--plaintext",
                                   "--allow-unauthenticated",
                                   absl::StrCat("--endpoint=", upstream)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), o.gateway_flags.begin(), o.gateway_flags.end());
  return argv;
}

// The limiter "out of the way": a budget no benchmark can reach, no margin.
std::vector<std::string> NoLimit() {
  return {"--qps=100000000", "--burst=100000000", "--rate-margin=0s"};
}

// Upstream connections of the gateways of scenarios 1 and 2. The direct path of scenario 2 keeps
// one connection per caller; a gateway pool as large (up to concurrency 64) means neither side
// queues for a connection, so what is compared is the cost of a call, not the pool size. (The
// default, 8, is sized for Alibaba's 10 calls/s; scenario 4 measures that pool.)
constexpr int kThroughputPool = 64;

std::vector<std::string> ThroughputFlags() {
  std::vector<std::string> flags = NoLimit();
  flags.push_back(absl::StrCat("--max-connections=", kThroughputPool));
  return flags;
}

// CPU of every process on the machine per call, for one concurrency of scenario 1 (medians, us).
struct CpuBudget {
  int concurrency = 0;
  double ceiling_server = 0;
  double ceiling_load = 0;  // the load generator, driving the ceiling
  double gateway = 0;
  double upstream = 0;  // nginx, answering the gateway
  double gateway_load = 0;
};

struct Measured {
  GrpcLoadResult load;
  double cpu_us_per_call = 0;           // of the server process
  double switches_per_call = 0;         // context switches of the server process
  double upstream_cpu_us_per_call = 0;  // of nginx, when the server calls it
  double load_cpu_us_per_call = 0;      // of this process: the load generator
};

Measured MeasureServer(const Server& server, const GrpcLoadOptions& base, int concurrency,
                       absl::Duration duration, pid_t upstream_pid = 0) {
  GrpcLoadOptions options = base;
  options.target = server.target;
  options.concurrency = concurrency;
  options.duration = duration;
  const ProcessSample before = SampleProcess(server.process.pid());
  const ProcessSample upstream_before = SampleProcess(upstream_pid);
  const ProcessSample load_before = SampleProcess(getpid());
  Measured m{.load = RunGrpcLoad(options)};
  const ProcessSample after = SampleProcess(server.process.pid());
  const ProcessSample upstream_after = SampleProcess(upstream_pid);
  const ProcessSample load_after = SampleProcess(getpid());
  if (m.load.calls > 0) {
    const auto per_call = [calls = static_cast<double>(m.load.calls)](double total) {
      return total / calls;
    };
    m.cpu_us_per_call = per_call((after.cpu_seconds - before.cpu_seconds) * 1e6);
    m.switches_per_call =
        per_call(static_cast<double>(after.context_switches - before.context_switches));
    if (upstream_pid != 0) {
      m.upstream_cpu_us_per_call =
          per_call((upstream_after.cpu_seconds - upstream_before.cpu_seconds) * 1e6);
    }
    m.load_cpu_us_per_call = per_call((load_after.cpu_seconds - load_before.cpu_seconds) * 1e6);
  }
  return m;
}

std::string Codes(const std::map<std::string, long long>& codes) {
  std::vector<std::string> parts;
  parts.reserve(codes.size());
  for (const auto& [code, count] : codes) parts.push_back(absl::StrCat(code, "=", count));
  return absl::StrJoin(parts, ",");
}

Json CodesJson(const std::map<std::string, long long>& codes) {
  Json j = Json::object();
  for (const auto& [code, count] : codes) j[code] = count;
  return j;
}

// Median of one figure over repeated runs.
template <typename T, typename F>
double MedianOf(const std::vector<T>& runs, F figure) {
  std::vector<double> values;
  values.reserve(runs.size());
  for (const T& run : runs) values.push_back(figure(run));
  return Median(values);
}

struct Target {
  std::string what;
  std::string measured;
  bool met = false;
};

class Suite {
 public:
  explicit Suite(const SuiteOptions& options) : o_(options) {}

  int Run() {
    absl::StatusOr<std::unique_ptr<LoopbackUpstream>> upstream =
        LoopbackUpstream::Start(o_.nginx, o_.work_dir);
    if (!upstream.ok()) return Fail("upstream", upstream.status());
    upstream_ = *std::move(upstream);
    report_["machine"] = {{"cores", sysconf(_SC_NPROCESSORS_ONLN)}};
    report_["upstream"] = absl::StrCat("nginx ", o_.nginx, " (one process) answering a fixed ",
                                       "Alibaba-shaped success body; HTTP ", upstream_->http_url(),
                                       ", HTTPS ", upstream_->https_url());
    report_["mode"] = o_.smoke ? "smoke" : "full";
    report_["run_seconds"] = absl::ToDoubleSeconds(o_.run_duration);
    report_["repetitions"] = o_.repetitions;
    std::printf("ota-bench all (%s): %lld cores; runs of %s, median of %d; upstream: %s\n",
                o_.smoke ? "smoke" : "full", static_cast<long long>(sysconf(_SC_NPROCESSORS_ONLN)),
                absl::FormatDuration(o_.run_duration).c_str(), o_.repetitions,
                "nginx fixed success body on loopback");
    report_["scenarios"] = o_.scenarios;
    const std::array steps = {
        &Suite::CeilingVsGateway, &Suite::AddedLatency, &Suite::WaitingCallers, &Suite::HttpsReuse,
        &Suite::Signer,           &Suite::StartUp,      &Suite::FairShare};
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const int number = static_cast<int>(i) + 1;
      if (std::find(o_.scenarios.begin(), o_.scenarios.end(), number) == o_.scenarios.end()) {
        std::printf("\n[%d] skipped (--scenarios)\n", number);
        continue;
      }
      if (const absl::Status status = (this->*steps[i])(); !status.ok()) {
        return Fail("scenario", status);
      }
      std::fflush(stdout);
    }
    PrintTargets();
    std::ofstream out(o_.json_path);
    out << report_.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "ota-bench: cannot write %s\n", o_.json_path.c_str());
      return 1;
    }
    std::printf("\nJSON written to %s\n", o_.json_path.c_str());
    return 0;
  }

 private:
  int Fail(const char* what, const absl::Status& status) {
    std::fprintf(stderr, "ota-bench: %s failed: %s\n", what, std::string(status.message()).c_str());
    return 1;
  }

  // 1. Ceiling vs gateway, and the ghz cross-check.
  absl::Status CeilingVsGateway() {
    absl::StatusOr<Server> ceiling =
        StartServer({o_.self, "ceiling-server"}, o_.work_dir + "/ceiling.log");
    if (!ceiling.ok()) return ceiling.status();
    absl::StatusOr<Server> gateway = StartServer(
        GatewayArgs(o_, upstream_->http_url(), ThroughputFlags()), o_.work_dir + "/gateway-s1.log");
    if (!gateway.ok()) return gateway.status();
    // The baseline binary, when given, runs with exactly the same flags.
    std::optional<Server> baseline;
    if (!o_.baseline_gateway.empty()) {
      std::vector<std::string> argv = GatewayArgs(o_, upstream_->http_url(), ThroughputFlags());
      argv[0] = o_.baseline_gateway;
      absl::StatusOr<Server> started = StartServer(argv, o_.work_dir + "/baseline-s1.log");
      if (!started.ok()) return started.status();
      baseline = *std::move(started);
    }
    const GrpcLoadOptions base;
    // Warm both up (connections, allocator, upstream pool) before anything counts.
    (void)MeasureServer(*ceiling, base, 64, o_.run_duration / 4);
    (void)MeasureServer(*gateway, base, 64, o_.run_duration / 4);
    if (baseline.has_value()) (void)MeasureServer(*baseline, base, 64, o_.run_duration / 4);

    std::printf(
        "\n[1] ceiling (no-op gRPC server, same gRPC) vs ota-gateway -> nginx over HTTP "
        "(--max-connections=%d)\n",
        kThroughputPool);
    std::printf("%-8s %5s %10s %9s %9s %10s %13s %9s %8s  %s\n", "server", "conc", "calls/s",
                "p50 us", "p99 us", "p99.9 us", "cpu us/call", "csw/call", "gw/ceil",
                "codes (last run)");
    Json rows = Json::array();
    std::vector<CpuBudget> budgets;
    for (int c : o_.concurrency) {
      std::vector<Measured> ceil_runs;
      std::vector<Measured> gw_runs;
      std::vector<Measured> base_runs;
      for (int r = 0; r < o_.repetitions; ++r) {
        ceil_runs.push_back(MeasureServer(*ceiling, base, c, o_.run_duration));
        gw_runs.push_back(MeasureServer(*gateway, base, c, o_.run_duration, upstream_->pid()));
        if (baseline.has_value()) {
          base_runs.push_back(MeasureServer(*baseline, base, c, o_.run_duration, upstream_->pid()));
        }
      }
      const auto row = [&](const char* name, const std::vector<Measured>& runs, double ratio) {
        const double cps =
            MedianOf(runs, [](const Measured& m) { return m.load.calls_per_second; });
        const double p50 = MedianOf(runs, [](const Measured& m) { return m.load.latency.p50_us; });
        const double p99 = MedianOf(runs, [](const Measured& m) { return m.load.latency.p99_us; });
        const double p999 =
            MedianOf(runs, [](const Measured& m) { return m.load.latency.p999_us; });
        const double cpu = MedianOf(runs, [](const Measured& m) { return m.cpu_us_per_call; });
        const double csw = MedianOf(runs, [](const Measured& m) { return m.switches_per_call; });
        std::printf("%-8s %5d %10.0f %9.0f %9.0f %10.0f %13.3f %9.2f %8s  %s\n", name, c, cps, p50,
                    p99, p999, cpu, csw, ratio > 0 ? absl::StrFormat("%.2f", ratio).c_str() : "",
                    Codes(runs.back().load.codes).c_str());
        Json j = {{"server", name},
                  {"concurrency", c},
                  {"calls_per_second", cps},
                  {"p50_us", p50},
                  {"p99_us", p99},
                  {"p999_us", p999},
                  {"cpu_seconds_per_1000_calls", cpu / 1000.0},
                  {"context_switches_per_call", csw},
                  {"codes_last_run", CodesJson(runs.back().load.codes)}};
        if (ratio > 0) j["throughput_ratio_gateway_over_ceiling"] = ratio;
        rows.push_back(j);
        return cps;
      };
      const double ceiling_cps = row("ceiling", ceil_runs, 0);
      const double gw_cps_median =
          MedianOf(gw_runs, [](const Measured& m) { return m.load.calls_per_second; });
      const double ratio = ceiling_cps > 0 ? gw_cps_median / ceiling_cps : 0;
      (void)row("gateway", gw_runs, ratio);
      const double gw_cpu = MedianOf(gw_runs, [](const Measured& m) { return m.cpu_us_per_call; });
      if (!base_runs.empty()) {
        const double base_cps =
            MedianOf(base_runs, [](const Measured& m) { return m.load.calls_per_second; });
        (void)row("baseline", base_runs, ceiling_cps > 0 ? base_cps / ceiling_cps : 0);
        const double base_cpu =
            MedianOf(base_runs, [](const Measured& m) { return m.cpu_us_per_call; });
        const double growth = base_cpu > 0 ? gw_cpu / base_cpu - 1 : 0;
        std::printf("%-8s %5d CPU per call %.1f us vs baseline %.1f us: %+.1f%%\n", "gw/base", c,
                    gw_cpu, base_cpu, 100 * growth);
        baseline_cpu_.push_back({{"concurrency", c},
                                 {"gateway_cpu_us_per_call", gw_cpu},
                                 {"baseline_cpu_us_per_call", base_cpu},
                                 {"growth", growth},
                                 {"baseline", o_.baseline_gateway}});
        if (c == 64) {
          targets_.push_back(
              {"gateway CPU per call at concurrency 64 within +5% of the baseline",
               absl::StrFormat("%+.1f%% (%.1f vs %.1f us)", 100 * growth, gw_cpu, base_cpu),
               growth <= 0.05});
        }
      }
      budgets.push_back(
          {.concurrency = c,
           .ceiling_server =
               MedianOf(ceil_runs, [](const Measured& m) { return m.cpu_us_per_call; }),
           .ceiling_load =
               MedianOf(ceil_runs, [](const Measured& m) { return m.load_cpu_us_per_call; }),
           .gateway = gw_cpu,
           .upstream =
               MedianOf(gw_runs, [](const Measured& m) { return m.upstream_cpu_us_per_call; }),
           .gateway_load =
               MedianOf(gw_runs, [](const Measured& m) { return m.load_cpu_us_per_call; })});
      if (c == 64 || (o_.smoke && c == o_.concurrency.back())) {
        targets_.push_back(
            {absl::StrCat("gateway/ceiling throughput at concurrency ", c, " >= 0.5"),
             absl::StrFormat("%.2f", ratio), ratio >= 0.5});
        targets_.push_back({absl::StrFormat("gateway CPU per call well under the SDK's ~%.0f us "
                                            "(<= half), concurrency %d",
                                            kSdkCpuUsPerCall, c),
                            absl::StrFormat("%.1f us", gw_cpu), gw_cpu <= kSdkCpuUsPerCall / 2});
      }
    }
    report_["scenario1_ceiling_vs_gateway"] = rows;
    if (!baseline_cpu_.empty()) report_["scenario1_cpu_vs_baseline"] = baseline_cpu_;
    PrintCpuBudget(budgets);
    return GhzCrossCheck(*ceiling, *gateway);
  }

  // When both sides are CPU-bound on the same cores, their throughput ratio is at most the inverse
  // ratio of the CPU the whole machine spends per call: this prints that bound.
  void PrintCpuBudget(const std::vector<CpuBudget>& budgets) {
    std::printf(
        "\n[1a] CPU the whole machine spends per call (us; all processes share the %lld cores)\n",
        static_cast<long long>(sysconf(_SC_NPROCESSORS_ONLN)));
    std::printf("%5s %16s %10s %10s %14s %8s %10s %10s %16s\n", "conc", "ceiling server",
                "load gen", "total", "ota-gateway", "nginx", "load gen", "total",
                "CPU-bound ratio");
    Json rows = Json::array();
    for (const CpuBudget& b : budgets) {
      const double ceiling_total = b.ceiling_server + b.ceiling_load;
      const double gateway_total = b.gateway + b.upstream + b.gateway_load;
      const double bound = gateway_total > 0 ? ceiling_total / gateway_total : 0;
      std::printf("%5d %16.1f %10.1f %10.1f %14.1f %8.1f %10.1f %10.1f %16.2f\n", b.concurrency,
                  b.ceiling_server, b.ceiling_load, ceiling_total, b.gateway, b.upstream,
                  b.gateway_load, gateway_total, bound);
      rows.push_back({{"concurrency", b.concurrency},
                      {"ceiling_server_us", b.ceiling_server},
                      {"ceiling_load_generator_us", b.ceiling_load},
                      {"gateway_us", b.gateway},
                      {"nginx_us", b.upstream},
                      {"gateway_load_generator_us", b.gateway_load},
                      {"cpu_bound_throughput_ratio", bound}});
    }
    report_["scenario1_cpu_per_call"] = rows;
  }

  absl::Status GhzCrossCheck(const Server& ceiling, const Server& gateway) {
    if (o_.ghz.empty() || access(o_.ghz.c_str(), X_OK) != 0) {
      std::printf("\n[1b] ghz cross-check SKIPPED: no ghz at '%s' (scripts/setup.sh installs it)\n",
                  o_.ghz.c_str());
      report_["scenario1_ghz_cross_check"] = {{"skipped", "ghz not installed"}};
      return absl::OkStatus();
    }
    std::printf(
        "\n[1b] ghz cross-check (one ghz run per cell; ghz competes for the same 2 cores)\n");
    std::printf("%-8s %5s %10s %9s %9s %8s %14s\n", "server", "conc", "calls/s", "p50 us", "p99 us",
                "gw/ceil", "ota-bench ratio");
    Json rows = Json::array();
    for (int c : o_.concurrency) {
      double ceiling_cps = 0;
      for (const Server* server : {&ceiling, &gateway}) {
        const bool is_gateway = server == &gateway;
        absl::StatusOr<GhzResult> r =
            RunGhz({.ghz = o_.ghz,
                    .proto_dir = o_.proto_dir,
                    .target = server->target,
                    .concurrency = c,
                    .duration = o_.run_duration,
                    .output_file = absl::StrCat(o_.work_dir, "/ghz-", is_gateway ? "gw" : "ceil",
                                                "-", c, ".json")});
        if (!r.ok()) return r.status();
        double ratio = 0;
        double own_ratio = 0;
        if (is_gateway) {
          ratio = ceiling_cps > 0 ? r->calls_per_second / ceiling_cps : 0;
          for (const Json& row : report_["scenario1_ceiling_vs_gateway"]) {
            if (row["server"] == "gateway" && row["concurrency"] == c) {
              own_ratio = row["throughput_ratio_gateway_over_ceiling"].get<double>();
            }
          }
        } else {
          ceiling_cps = r->calls_per_second;
        }
        std::printf("%-8s %5d %10.0f %9.0f %9.0f %8s %14s  ok=%lld/%lld\n",
                    is_gateway ? "gateway" : "ceiling", c, r->calls_per_second, r->p50_us,
                    r->p99_us, is_gateway ? absl::StrFormat("%.2f", ratio).c_str() : "",
                    is_gateway ? absl::StrFormat("%.2f", own_ratio).c_str() : "", r->ok_calls,
                    r->calls);
        Json j = {{"server", is_gateway ? "gateway" : "ceiling"},
                  {"concurrency", c},
                  {"calls_per_second", r->calls_per_second},
                  {"p50_us", r->p50_us},
                  {"p99_us", r->p99_us},
                  {"calls", r->calls},
                  {"ok_calls", r->ok_calls}};
        if (is_gateway) {
          j["throughput_ratio_gateway_over_ceiling"] = ratio;
          j["ota_bench_ratio"] = own_ratio;
        }
        rows.push_back(j);
      }
    }
    report_["scenario1_ghz_cross_check"] = rows;
    return absl::OkStatus();
  }

  // 2. Added latency: the same signed call direct (libcurl, keep-alive) vs through the gateway.
  absl::Status AddedLatency() {
    absl::StatusOr<Server> gateway = StartServer(
        GatewayArgs(o_, upstream_->http_url(), ThroughputFlags()), o_.work_dir + "/gateway-s2.log");
    if (!gateway.ok()) return gateway.status();
    (void)MeasureServer(*gateway, {}, 16, o_.run_duration / 4);
    std::printf(
        "\n[2] added latency: direct signed HTTP call (libcurl keep-alive, one handle per "
        "caller thread) vs through ota-gateway (--max-connections=%d)\n",
        kThroughputPool);
    std::printf("%12s %10s %10s %10s %10s %10s %10s %12s %12s\n", "conc", "direct/s", "gw/s",
                "direct p50", "gw p50", "direct p99", "gw p99", "added p50 us", "added p99 us");
    Json rows = Json::array();
    // Closed loop (each caller calls again once answered) at 1 and 16, as the issue asks; at 16
    // both paths saturate the machine, so latency there is mostly queueing for CPU. The paced row
    // starts 16 callers' calls at a total rate far below saturation: the gateway's own latency.
    struct Case {
      int concurrency;
      double paced_calls_per_second;
    };
    const double paced_rate = o_.smoke ? 500 : 2000;
    for (const Case& k : {Case{1, 0}, Case{16, 0}, Case{16, paced_rate}}) {
      const int c = k.concurrency;
      const std::string label = k.paced_calls_per_second > 0
                                    ? absl::StrFormat("%d@%.0f/s", c, k.paced_calls_per_second)
                                    : absl::StrCat(c);
      std::vector<DirectHttpResult> direct;
      std::vector<Measured> through;
      GrpcLoadOptions load;
      load.paced_calls_per_second = k.paced_calls_per_second;
      for (int r = 0; r < o_.repetitions; ++r) {
        direct.push_back(RunDirectHttpLoad({.url = upstream_->http_url(),
                                            .concurrency = c,
                                            .duration = o_.run_duration,
                                            .paced_calls_per_second = k.paced_calls_per_second}));
        through.push_back(MeasureServer(*gateway, load, c, o_.run_duration));
      }
      const double d50 =
          MedianOf(direct, [](const DirectHttpResult& d) { return d.latency.p50_us; });
      const double d99 =
          MedianOf(direct, [](const DirectHttpResult& d) { return d.latency.p99_us; });
      const double dcps =
          MedianOf(direct, [](const DirectHttpResult& d) { return d.calls_per_second; });
      const double g50 = MedianOf(through, [](const Measured& m) { return m.load.latency.p50_us; });
      const double g99 = MedianOf(through, [](const Measured& m) { return m.load.latency.p99_us; });
      const double gcps =
          MedianOf(through, [](const Measured& m) { return m.load.calls_per_second; });
      std::printf("%12s %10.0f %10.0f %10.0f %10.0f %10.0f %10.0f %12.0f %12.0f\n", label.c_str(),
                  dcps, gcps, d50, g50, d99, g99, g50 - d50, g99 - d99);
      rows.push_back({{"concurrency", c},
                      {"paced_calls_per_second", k.paced_calls_per_second},
                      {"direct_calls_per_second", dcps},
                      {"gateway_calls_per_second", gcps},
                      {"direct_p50_us", d50},
                      {"gateway_p50_us", g50},
                      {"direct_p99_us", d99},
                      {"gateway_p99_us", g99},
                      {"added_p50_us", g50 - d50},
                      {"added_p99_us", g99 - d99},
                      {"direct_failures_last_run", direct.back().failures},
                      {"gateway_codes_last_run", CodesJson(through.back().load.codes)}});
      if (c == 16) {
        const std::string how =
            k.paced_calls_per_second > 0
                ? absl::StrFormat("concurrency 16 paced at %.0f calls/s", k.paced_calls_per_second)
                : std::string("concurrency 16");
        targets_.push_back({absl::StrCat("added p50 <= 0.2 ms at ", how),
                            absl::StrFormat("%.3f ms", (g50 - d50) / 1000), g50 - d50 <= 200});
        targets_.push_back({absl::StrCat("added p99 <= 1 ms at ", how),
                            absl::StrFormat("%.3f ms", (g99 - d99) / 1000), g99 - d99 <= 1000});
      }
    }
    report_["scenario2_added_latency"] = rows;
    return absl::OkStatus();
  }

  int MaxWaiters() const {
    int most = 0;
    for (int level : o_.waiters) most = std::max(most, level);
    return most;
  }

  // 3. Thousands of callers waiting behind the default 10/s limiter.
  absl::Status WaitingCallers() {
    absl::StatusOr<Server> gateway =
        StartServer(GatewayArgs(o_, upstream_->http_url(),
                                {"--max-wait=7200s", "--drain-timeout=2s", "--log-level=warning",
                                 // Room for every waiter plus the probes: this scenario measures
                                 // the cost of waiting, not the overload refusal.
                                 absl::StrCat("--max-pending-calls=", MaxWaiters() + 1000)}),
                    o_.work_dir + "/gateway-s3.log");
    if (!gateway.ok()) return gateway.status();
    const absl::Duration settle = o_.smoke ? absl::Milliseconds(500) : absl::Seconds(2);
    const WaitingCallersResult r =
        MeasureWaitingCallers(gateway->target, gateway->process.pid(), o_.waiters, settle,
                              absl::Seconds(2), o_.smoke ? 3 : 10);
    gateway->process.Stop();
    // The floor: the same callers parked in a server that only holds them (same gRPC).
    absl::StatusOr<Server> parking =
        StartServer({o_.self, "ceiling-server", "--park"}, o_.work_dir + "/parking.log");
    if (!parking.ok()) return parking.status();
    const WaitingCallersResult floor = MeasureWaitingCallers(
        parking->target, parking->process.pid(), o_.waiters, settle, absl::Seconds(2), 0);
    parking->process.Stop();
    std::printf("\n[3] waiting callers behind the 10/s limiter (--max-wait=7200s, deadlines 2h)\n");
    std::printf("%8s %10s %14s %8s %9s\n", "waiters", "RSS MiB", "peak RSS MiB", "threads",
                "answered");
    std::printf("%8d %10.1f %14.1f %8d %9d\n", 0, r.idle.rss_mib, r.idle.peak_rss_mib,
                r.idle.threads, 0);
    Json levels = Json::array();
    levels.push_back({{"waiters", 0},
                      {"rss_mib", r.idle.rss_mib},
                      {"peak_rss_mib", r.idle.peak_rss_mib},
                      {"threads", r.idle.threads}});
    for (const WaitingLevel& l : r.levels) {
      std::printf("%8d %10.1f %14.1f %8d %9lld\n", l.waiters, l.gateway.rss_mib,
                  l.gateway.peak_rss_mib, l.gateway.threads, l.answered);
      levels.push_back({{"waiters", l.waiters},
                        {"rss_mib", l.gateway.rss_mib},
                        {"peak_rss_mib", l.gateway.peak_rss_mib},
                        {"threads", l.gateway.threads},
                        {"answered_before_sample", l.answered}});
    }
    std::printf(
        "%8s %10s %14s %8s   gRPC alone: `ota-bench ceiling-server --park` holding the "
        "same calls\n",
        "waiters", "RSS MiB", "peak RSS MiB", "threads");
    Json floor_levels = Json::array();
    std::printf("%8d %10.1f %14.1f %8d\n", 0, floor.idle.rss_mib, floor.idle.peak_rss_mib,
                floor.idle.threads);
    for (std::size_t i = 0; i < floor.levels.size(); ++i) {
      const WaitingLevel& l = floor.levels[i];
      std::printf("%8d %10.1f %14.1f %8d", l.waiters, l.gateway.rss_mib, l.gateway.peak_rss_mib,
                  l.gateway.threads);
      Json row = {{"waiters", l.waiters},
                  {"rss_mib", l.gateway.rss_mib},
                  {"peak_rss_mib", l.gateway.peak_rss_mib},
                  {"threads", l.gateway.threads}};
      if (i < r.levels.size() && l.waiters > 0) {
        // Growth over idle, per waiting call, of each process.
        const double gateway_kib = (r.levels[i].gateway.rss_mib - r.idle.rss_mib) * 1024.0 /
                                   static_cast<double>(l.waiters);
        const double grpc_kib =
            (l.gateway.rss_mib - floor.idle.rss_mib) * 1024.0 / static_cast<double>(l.waiters);
        std::printf("   per waiting call: ota-gateway %.1f KiB, gRPC alone %.1f KiB", gateway_kib,
                    grpc_kib);
        row["gateway_kib_per_waiter"] = gateway_kib;
        row["grpc_alone_kib_per_waiter"] = grpc_kib;
      }
      std::printf("\n");
      floor_levels.push_back(row);
    }
    std::vector<std::string> codes;
    for (const auto& [code, count] : r.probe_codes) codes.push_back(absl::StrCat(code, "=", count));
    std::printf(
        "probes with a %s deadline while the queue waits: %s, p50 %.2f ms, max %.2f ms, "
        "RetryInfo.retry_delay %.0f s (= queue ahead / 10 per s)\n",
        absl::FormatDuration(r.probe_deadline).c_str(), absl::StrJoin(codes, ",").c_str(),
        r.probe_p50_ms, r.probe_max_ms, r.probe_retry_delay_s);
    Json probe_codes = Json::object();
    for (const auto& [code, count] : r.probe_codes) probe_codes[code] = count;
    report_["scenario3_waiting_callers"] = {
        {"levels", levels},
        {"probe_deadline_ms", absl::ToDoubleMilliseconds(r.probe_deadline)},
        {"probe_codes", probe_codes},
        {"probe_p50_ms", r.probe_p50_ms},
        {"probe_max_ms", r.probe_max_ms},
        {"probe_retry_delay_s", r.probe_retry_delay_s},
        {"grpc_alone_levels", floor_levels}};
    if (!r.levels.empty()) {
      const WaitingLevel& most = r.levels.back();
      const WaitingLevel& fewest = r.levels.front();
      targets_.push_back(
          {absl::StrCat(most.waiters, " waiting calls: peak RSS <= 150 MiB"),
           absl::StrFormat("%.1f MiB (gRPC alone: %.1f)", most.gateway.peak_rss_mib,
                           floor.levels.empty() ? 0.0 : floor.levels.back().gateway.peak_rss_mib),
           most.gateway.peak_rss_mib <= 150});
      targets_.push_back(
          {"thread count independent of the number of waiters",
           absl::StrFormat("%d idle, %d at %d, %d at %d", r.idle.threads, fewest.gateway.threads,
                           fewest.waiters, most.gateway.threads, most.waiters),
           // gRPC's timer-manager and event-engine pools add a thread or two while busy (seen
           // as 12-15 threads between runs); a thread per waiter would add thousands. So: both
           // levels within 3 threads of idle, however many calls wait.
           std::max(most.gateway.threads, fewest.gateway.threads) <= r.idle.threads + 3});
      const int refused = r.probe_codes.count("RESOURCE_EXHAUSTED") > 0
                              ? r.probe_codes.at("RESOURCE_EXHAUSTED")
                              : 0;
      int sent = 0;
      for (const auto& [code, count] : r.probe_codes) sent += count;
      targets_.push_back({"calls past their deadline fail fast with RESOURCE_EXHAUSTED",
                          absl::StrFormat("%d/%d, slowest %.1f ms", refused, sent, r.probe_max_ms),
                          refused == sent && r.probe_max_ms < 100});
    }
    return absl::OkStatus();
  }

  // 4. Connection reuse over HTTPS.
  absl::Status HttpsReuse() {
    constexpr int kPool = 8;
    std::vector<std::string> flags = NoLimit();
    flags.push_back(absl::StrCat("--max-connections=", kPool));
    flags.push_back(absl::StrCat("--ca-file=", upstream_->ca_file()));
    absl::StatusOr<Server> gateway = StartServer(GatewayArgs(o_, upstream_->https_url(), flags),
                                                 o_.work_dir + "/gateway-s4.log");
    if (!gateway.ok()) return gateway.status();
    constexpr int kConcurrency = 16;
    const long long mark = upstream_->HttpsLogMark();
    GrpcLoadOptions options{.target = gateway->target,
                            .concurrency = kConcurrency,
                            .duration = absl::Minutes(5),
                            .call_timeout = absl::Seconds(10),
                            .job_prefix = "bench-tls-",
                            .max_calls = o_.https_calls};
    const GrpcLoadResult through = RunGrpcLoad(options);
    absl::SleepFor(absl::Milliseconds(100));  // the last access-log lines
    const UpstreamConnections seen = upstream_->HttpsConnectionsSince(mark);
    const long long fresh_mark = upstream_->HttpsLogMark();
    const DirectHttpResult fresh = RunDirectHttpLoad({.url = upstream_->https_url(),
                                                      .concurrency = kConcurrency,
                                                      .duration = absl::Minutes(5),
                                                      .max_calls = o_.https_calls,
                                                      .fresh_connections = true,
                                                      .ca_file = upstream_->ca_file()});
    absl::SleepFor(absl::Milliseconds(100));
    const UpstreamConnections fresh_seen = upstream_->HttpsConnectionsSince(fresh_mark);
    const DirectHttpResult kept = RunDirectHttpLoad({.url = upstream_->https_url(),
                                                     .concurrency = kConcurrency,
                                                     .duration = absl::Minutes(5),
                                                     .max_calls = o_.https_calls,
                                                     .fresh_connections = false,
                                                     .ca_file = upstream_->ca_file()});
    std::printf(
        "\n[4] HTTPS upstream (RSA-2048, TLS verified), %d calls at concurrency %d, "
        "gateway pool --max-connections=%d; counted at the upstream\n",
        o_.https_calls, kConcurrency, kPool);
    std::printf("%-32s %8s %12s %11s %9s %9s %10s\n", "path", "calls", "connections", "handshakes",
                "p50 us", "p99 us", "calls/s");
    std::printf("%-32s %8lld %12lld %11lld %9.0f %9.0f %10.0f  codes %s\n", "ota-gateway (pool)",
                seen.requests, seen.connections, seen.connections, through.latency.p50_us,
                through.latency.p99_us, through.calls_per_second, Codes(through.codes).c_str());
    std::printf("%-32s %8lld %12lld %11lld %9.0f %9.0f %10.0f  failures %lld\n",
                "direct, fresh connection/call", fresh_seen.requests, fresh_seen.connections,
                fresh_seen.connections, fresh.latency.p50_us, fresh.latency.p99_us,
                fresh.calls_per_second, fresh.failures);
    std::printf("%-32s %8lld %12s %11s %9.0f %9.0f %10.0f  failures %lld\n",
                "direct, keep-alive (context)", kept.calls, "-", "-", kept.latency.p50_us,
                kept.latency.p99_us, kept.calls_per_second, kept.failures);
    std::printf("gateway p50 minus fresh-connection p50: %+.0f us (negative: the pool saves it)\n",
                through.latency.p50_us - fresh.latency.p50_us);
    report_["scenario4_https_reuse"] = {
        {"calls", o_.https_calls},
        {"concurrency", kConcurrency},
        {"pool_size", kPool},
        {"gateway",
         {{"upstream_requests", seen.requests},
          {"tcp_connections", seen.connections},
          {"tls_handshakes", seen.connections},
          {"resumed_sessions", seen.resumed_sessions},
          {"p50_us", through.latency.p50_us},
          {"p99_us", through.latency.p99_us},
          {"calls_per_second", through.calls_per_second},
          {"codes", CodesJson(through.codes)}}},
        {"direct_fresh_connection",
         {{"upstream_requests", fresh_seen.requests},
          {"tcp_connections", fresh_seen.connections},
          {"tls_handshakes", fresh_seen.connections},
          {"p50_us", fresh.latency.p50_us},
          {"p99_us", fresh.latency.p99_us},
          {"calls_per_second", fresh.calls_per_second},
          {"failures", fresh.failures}}},
        {"direct_keep_alive",
         {{"p50_us", kept.latency.p50_us},
          {"p99_us", kept.latency.p99_us},
          {"calls_per_second", kept.calls_per_second},
          {"failures", kept.failures}}},
        {"gateway_p50_minus_fresh_p50_us", through.latency.p50_us - fresh.latency.p50_us}};
    targets_.push_back(
        {absl::StrFormat("HTTPS: connections/handshakes <= pool size (%d) for %d calls", kPool,
                         o_.https_calls),
         absl::StrFormat("%lld connections, %lld handshakes, %lld upstream requests",
                         seen.connections, seen.connections, seen.requests),
         seen.connections <= kPool && seen.requests >= o_.https_calls});
    return absl::OkStatus();
  }

  // 5. Signer micro-benchmark.
  absl::Status Signer() {
    const std::vector<SignerBenchResult> results =
        RunSignerBench(o_.signer_min_time, o_.smoke ? 1 : o_.repetitions);
    std::printf(
        "\n[5] signer (Google Benchmark, CancelOTAStrategyByJob with IotInstanceId and an "
        "STS token, fresh nonce + timestamp each)\n");
    std::printf("%-22s %14s %22s\n", "method", "cpu ns/sig", "signatures/s per core");
    Json rows = Json::array();
    for (const SignerBenchResult& r : results) {
      std::printf("%-22s %14.0f %22.0f\n", r.method.c_str(), r.cpu_ns_per_signature,
                  r.signatures_per_core_second);
      rows.push_back({{"method", r.method},
                      {"cpu_ns_per_signature", r.cpu_ns_per_signature},
                      {"signatures_per_core_second", r.signatures_per_core_second}});
      targets_.push_back({absl::StrCat("signer ", r.method, " >= 200,000 signatures/s per core"),
                          absl::StrFormat("%.0f/s", r.signatures_per_core_second),
                          r.signatures_per_core_second >= 200000});
    }
    report_["scenario5_signer"] = rows;
    return absl::OkStatus();
  }

  // 6. Start-up: process start to health SERVING.
  absl::Status StartUp() {
    std::vector<double> ms;
    for (int i = 0; i < o_.startups; ++i) {
      const int port = FreeLoopbackPort();
      const std::string target = absl::StrCat("127.0.0.1:", port);
      std::vector<std::string> argv =
          GatewayArgs(o_, upstream_->http_url(), {absl::StrCat("--listen=", target)});
      const absl::Time started = absl::Now();
      absl::StatusOr<ChildProcess> process =
          ChildProcess::Start(argv, absl::StrCat(o_.work_dir, "/gateway-startup-", i, ".log"));
      if (!process.ok()) return process.status();
      if (!WaitUntilServing(target, absl::Seconds(10))) {
        return absl::UnavailableError("ota-gateway did not become SERVING within 10 s");
      }
      ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - started));
      process->Stop();
    }
    double slowest = 0;
    for (double m : ms) slowest = std::max(slowest, m);
    const double median = Median(ms);
    std::printf(
        "\n[6] start-up: process start to grpc.health.v1 SERVING (probed every 1 ms), %d "
        "starts: median %.1f ms, slowest %.1f ms\n",
        o_.startups, median, slowest);
    report_["scenario6_startup"] = {
        {"starts", o_.startups}, {"median_ms", median}, {"max_ms", slowest}, {"all_ms", ms}};
    targets_.push_back({"SERVING within 300 ms of start",
                        absl::StrFormat("median %.1f ms, slowest %.1f ms", median, slowest),
                        slowest <= 300});
    return absl::OkStatus();
  }

  // 7. Fair share: an on-call caller's latency under another caller's flood, and a 3:1 split, at
  // the default 10/s, with the budget in process and in Redis.
  absl::Status FairShare() {
    std::printf(
        "\n[7] fair share at the default 10 calls/s: 'bulk' floods %d calls, 'oncall' makes %d "
        "single calls 1 s apart (3 s deadlines) meanwhile; then shares 3:1 flood at once, split "
        "of the first %d answered\n",
        o_.fair_flood_calls, o_.fair_oncall_calls, o_.fair_split_first);
    std::printf("%-11s %9s %11s %11s %11s %10s %8s\n", "limiter", "oncall ok", "p50 ms", "p99 ms",
                "max ms", "flood ok", "a:b");
    Json rows = Json::array();
    absl::StatusOr<std::unique_ptr<testing::RedisTestServer>> redis =
        testing::RedisTestServer::Start();
    std::vector<std::pair<std::string, std::vector<std::string>>> setups = {{"in-process", {}}};
    if (redis.ok()) {
      setups.push_back({"redis",
                        {"--limiter=redis",
                         absl::StrCat("--redis-url=", "redis://127.0.0.1:", (*redis)->port(), "/0"),
                         "--limiter-key-prefix=ota-bench-fair:"}});
    } else {
      std::printf("%-11s SKIPPED: %s\n", "redis", std::string(redis.status().message()).c_str());
    }
    for (auto& [label, flags] : setups) {
      std::vector<std::string> argv = {o_.gateway, "--emulator", "--plaintext",
                                       absl::StrCat("--endpoint=", upstream_->http_url()),
                                       "--log-level=warning"};
      argv.insert(argv.end(), flags.begin(), flags.end());
      argv.insert(argv.end(), o_.gateway_flags.begin(), o_.gateway_flags.end());
      absl::StatusOr<FairShareResult> r = MeasureFairShare({.gateway_argv = argv,
                                                            .work_dir = o_.work_dir,
                                                            .label = label,
                                                            .flood_calls = o_.fair_flood_calls,
                                                            .oncall_calls = o_.fair_oncall_calls,
                                                            .oncall_spacing = absl::Seconds(1),
                                                            .split_first = o_.fair_split_first});
      if (!r.ok()) return r.status();
      std::printf("%-11s %5d/%-3d %11.0f %11.0f %11.0f %10d %5d:%d\n", label.c_str(), r->oncall_ok,
                  o_.fair_oncall_calls, r->oncall_p50_ms, r->oncall_p99_ms, r->oncall_max_ms,
                  r->flood_ok, r->split_a, r->split_b);
      rows.push_back({{"limiter", label},
                      {"flood_calls", o_.fair_flood_calls},
                      {"flood_ok", r->flood_ok},
                      {"oncall_calls", o_.fair_oncall_calls},
                      {"oncall_ok", r->oncall_ok},
                      {"oncall_p50_ms", r->oncall_p50_ms},
                      {"oncall_p99_ms", r->oncall_p99_ms},
                      {"oncall_max_ms", r->oncall_max_ms},
                      {"split_first", o_.fair_split_first},
                      {"split_a_share_3", r->split_a},
                      {"split_b_share_1", r->split_b}});
      targets_.push_back(
          {absl::StrCat("on-call caller under a flood (", label, "): every call OK, p99 <= 1 s"),
           absl::StrFormat("%d/%d OK, p99 %.0f ms", r->oncall_ok, o_.fair_oncall_calls,
                           r->oncall_p99_ms),
           r->oncall_ok == o_.fair_oncall_calls && r->oncall_p99_ms <= 1000});
      const double expected_a = 0.75 * o_.fair_split_first;
      targets_.push_back({absl::StrCat("shares 3:1 split the first ", o_.fair_split_first, " (",
                                       label, ") within 10% of 3:1"),
                          absl::StrFormat("%d:%d", r->split_a, r->split_b),
                          std::abs(r->split_a - expected_a) <= 0.1 * o_.fair_split_first});
    }
    report_["scenario7_fair_share"] = rows;
    return absl::OkStatus();
  }

  void PrintTargets() {
    std::printf("\nTargets%s\n", o_.smoke ? " (smoke mode: figures too short to judge)" : "");
    Json rows = Json::array();
    for (const Target& t : targets_) {
      std::printf("  [%s] %-70s %s\n", t.met ? "met " : "MISS", t.what.c_str(), t.measured.c_str());
      rows.push_back({{"target", t.what}, {"measured", t.measured}, {"met", t.met}});
    }
    report_["targets"] = rows;
  }

  const SuiteOptions& o_;
  std::unique_ptr<LoopbackUpstream> upstream_;
  Json report_ = Json::object();
  std::vector<Target> targets_;
  Json baseline_cpu_ = Json::array();
};

}  // namespace

SuiteOptions SuiteOptions::Smoke() {
  SuiteOptions o;
  o.smoke = true;
  o.run_duration = absl::Milliseconds(300);
  o.repetitions = 1;
  o.concurrency = {1, 16};
  o.waiters = {100, 400};
  o.https_calls = 100;
  o.startups = 2;
  o.signer_min_time = absl::Milliseconds(50);
  o.fair_flood_calls = 40;
  o.fair_oncall_calls = 3;
  o.fair_split_first = 20;
  return o;
}

int RunGatewaySuite(const SuiteOptions& options) { return Suite(options).Run(); }

}  // namespace ota
