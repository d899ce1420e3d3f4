#include "bench/grpc_load.h"

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"

namespace ota {
namespace {

using Stub = ::ota::v1::OtaStrategyService::Stub;
using SteadyClock = std::chrono::steady_clock;

struct Slot {
  std::unique_ptr<grpc::ClientContext> context;
  ::ota::v1::CancelByJobRequest request;
  ::ota::v1::CancelByJobResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<::ota::v1::CancelByJobResponse>> reader;
  SteadyClock::time_point started;
  Stub* stub = nullptr;
  SteadyClock::time_point next_start;  // paced load: when this caller starts its next call
  std::unique_ptr<grpc::Alarm> alarm;  // paced load: set while waiting for next_start
};

}  // namespace

std::string GrpcCodeName(int code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  if (code < 0 || code > 16) return absl::StrCat("CODE_", code);
  return kNames[code];
}

GrpcLoadResult RunGrpcLoad(const GrpcLoadOptions& options) {
  const int connections = (options.concurrency + 99) / 100;
  std::vector<std::unique_ptr<Stub>> stubs;
  for (int i = 0; i < connections; ++i) {
    grpc::ChannelArguments args;
    // A channel of its own per connection: without this, equal channels share one subchannel.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("ota.bench.connection", i);
    stubs.push_back(::ota::v1::OtaStrategyService::NewStub(
        grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args)));
  }
  for (auto& stub : stubs) {
    // Connect first, so connection set-up is not counted as call latency.
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ::ota::v1::CancelByJobRequest request;
    request.set_job_id(absl::StrCat(options.job_prefix, "warmup"));
    ::ota::v1::CancelByJobResponse response;
    (void)stub->CancelByJob(&context, request, &response);
  }

  grpc::CompletionQueue cq;
  std::vector<Slot> slots(static_cast<std::size_t>(options.concurrency));
  std::uint64_t next_job = 0;
  auto issue = [&](Slot& slot) {
    slot.context = std::make_unique<grpc::ClientContext>();
    slot.context->set_deadline(std::chrono::system_clock::now() +
                               absl::ToChronoNanoseconds(options.call_timeout));
    slot.request.set_job_id(absl::StrCat(options.job_prefix, next_job++));
    slot.started = SteadyClock::now();
    slot.reader = slot.stub->AsyncCancelByJob(slot.context.get(), slot.request, &cq);
    slot.reader->Finish(&slot.response, &slot.status, &slot);
  };

  std::vector<std::int64_t> latencies;
  latencies.reserve(200000);
  GrpcLoadResult result;
  const SteadyClock::time_point start = SteadyClock::now();
  const SteadyClock::time_point end = start + absl::ToChronoNanoseconds(options.duration);
  const bool paced = options.paced_calls_per_second > 0;
  // Each caller's period, so that all of them together make the asked rate.
  const auto period =
      std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
          paced ? options.concurrency / options.paced_calls_per_second : 0));
  // Starts the slot's next call now, or (paced, early) sets its alarm for its next start.
  auto issue_or_wait = [&](Slot& slot, SteadyClock::time_point now) {
    if (paced && slot.next_start > now) {
      slot.alarm = std::make_unique<grpc::Alarm>();
      slot.alarm->Set(&cq, std::chrono::system_clock::now() + (slot.next_start - now), &slot);
      return;
    }
    issue(slot);
    slot.next_start += period;
  };
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i].stub = stubs[i % stubs.size()].get();
    // Paced callers start spread over one period, not all at once.
    slots[i].next_start = start + period * static_cast<int>(i) / options.concurrency;
    issue_or_wait(slots[i], start);
  }
  int outstanding = options.concurrency;
  void* tag = nullptr;
  bool ok = false;
  while (outstanding > 0 && cq.Next(&tag, &ok)) {
    Slot& slot = *static_cast<Slot*>(tag);
    const SteadyClock::time_point now = SteadyClock::now();
    if (slot.alarm != nullptr) {
      slot.alarm.reset();  // its start time has come: no call was in flight
    } else {
      latencies.push_back(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - slot.started).count());
      ++result.codes[GrpcCodeName(slot.status.error_code())];
    }
    if (now < end &&
        (options.max_calls == 0 || static_cast<long long>(next_job) < options.max_calls)) {
      issue_or_wait(slot, now);
    } else {
      --outstanding;
    }
  }
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  result.calls = static_cast<long long>(latencies.size());
  result.calls_per_second = static_cast<double>(result.calls) / result.seconds;
  result.latency = Summarize(std::move(latencies));
  return result;
}

}  // namespace ota
