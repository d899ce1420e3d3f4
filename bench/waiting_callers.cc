#include "bench/waiting_callers.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/grpc_load.h"
#include "bench/latency_summary.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"

namespace ota {
namespace {

using Stub = ::ota::v1::OtaStrategyService::Stub;

struct WaitingCall {
  grpc::ClientContext context;
  ::ota::v1::CancelByJobRequest request;
  ::ota::v1::CancelByJobResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<::ota::v1::CancelByJobResponse>> reader;
};

double RetryDelaySeconds(const grpc::Status& status) {
  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return 0;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      return static_cast<double>(retry.retry_delay().seconds()) + retry.retry_delay().nanos() / 1e9;
    }
  }
  return 0;
}

}  // namespace

WaitingCallersResult MeasureWaitingCallers(const std::string& target, pid_t gateway_pid,
                                           const std::vector<int>& waiter_counts,
                                           absl::Duration settle, absl::Duration probe_deadline,
                                           int probes) {
  WaitingCallersResult result;
  result.probe_deadline = probe_deadline;
  const int most = waiter_counts.empty() ? 0 : waiter_counts.back();
  // At most 100 streams per HTTP/2 connection, as a well-behaved client fleet would arrive.
  const int connections = (most + 99) / 100;
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("ota.bench.connection", i);
    stubs.push_back(::ota::v1::OtaStrategyService::NewStub(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args)));
  }
  // Each connection first completes a call, as long-lived client connections have: gRPC sizes a
  // new call's memory from the calls already finished on its connection, so cold connections
  // would understate what a waiting call costs. The warm-up call is refused by validation (no
  // job id), so it spends no limiter slot.
  for (const auto& stub : stubs) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    ::ota::v1::CancelByJobRequest request;
    ::ota::v1::CancelByJobResponse response;
    (void)stub->CancelByJob(&context, request, &response);
  }
  result.idle = SampleProcess(gateway_pid);
  grpc::CompletionQueue cq;
  std::atomic<long long> answered{0};
  std::thread drain([&] {
    void* tag = nullptr;
    bool ok = false;
    while (cq.Next(&tag, &ok)) answered.fetch_add(1);
  });
  std::vector<std::unique_ptr<WaitingCall>> calls;
  calls.reserve(static_cast<std::size_t>(most));
  const auto long_deadline = std::chrono::system_clock::now() + std::chrono::hours(2);
  for (int level : waiter_counts) {
    while (static_cast<int>(calls.size()) < level) {
      auto call = std::make_unique<WaitingCall>();
      const std::size_t n = calls.size();
      call->context.set_deadline(long_deadline);
      call->request.set_job_id(absl::StrCat("bench-wait-", n));
      call->reader = stubs[n % stubs.size()]->AsyncCancelByJob(&call->context, call->request, &cq);
      call->reader->Finish(&call->response, &call->status, call.get());
      calls.push_back(std::move(call));
    }
    absl::SleepFor(settle);
    result.levels.push_back(
        {.waiters = level, .gateway = SampleProcess(gateway_pid), .answered = answered.load()});
  }

  // The queue is now ~`most` / 10 seconds long: a short deadline cannot be met.
  std::vector<std::int64_t> probe_ns;
  std::vector<double> delays;
  for (int i = 0; i < probes; ++i) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoNanoseconds(probe_deadline));
    ::ota::v1::CancelByJobRequest request;
    request.set_job_id(absl::StrCat("bench-probe-", i));
    ::ota::v1::CancelByJobResponse response;
    const auto asked = std::chrono::steady_clock::now();
    const grpc::Status status = stubs[0]->CancelByJob(&context, request, &response);
    probe_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::steady_clock::now() - asked)
                           .count());
    ++result.probe_codes[GrpcCodeName(status.error_code())];
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      delays.push_back(RetryDelaySeconds(status));
    }
  }
  const LatencySummary probe = Summarize(probe_ns);
  result.probe_p50_ms = probe.p50_us / 1000.0;
  std::int64_t longest = 0;
  for (std::int64_t ns : probe_ns) longest = std::max(longest, ns);
  result.probe_max_ms = static_cast<double>(longest) / 1e6;
  result.probe_retry_delay_s = Median(delays);

  for (auto& call : calls) call->context.TryCancel();
  // Every call is answered (mostly CANCELLED) once cancelled; then the queue can be shut.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (answered.load() < static_cast<long long>(calls.size()) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  cq.Shutdown();
  drain.join();
  return result;
}

}  // namespace ota
