#include "server/ota_strategy_service.h"

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/grpc_status.h"
#include "server/json_logger.h"
#include "server/request_validator.h"

namespace ota {
namespace {

// The caller's deadline as an absl::Time; an unset (infinite) deadline gets `fallback` from now.
absl::Time CallerDeadline(const grpc::CallbackServerContext& context, absl::Time now,
                          absl::Duration fallback) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return now + fallback;
  return std::min(absl::FromChrono(deadline), now + absl::Hours(24));
}

std::string MetadataValue(const grpc::CallbackServerContext& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  // Bounded: a log line must not grow with what a caller sends.
  return std::string(it->second.data(), std::min<std::size_t>(it->second.size(), 128));
}

void LogCall(const grpc::CallbackServerContext& context, const ota::v1::CancelByJobRequest& request,
             const CallResult& result, absl::Duration latency) {
  const CallOutcome& outcome = result.outcome;
  nlohmann::ordered_json fields = {
      {"rpc", "CancelByJob"},
      {"peer", context.peer()},
      {"job_id", request.job_id().substr(0, 128)},
      {"iot_instance_id", request.iot_instance_id().substr(0, 128)},
      {"code", absl::StatusCodeToString(outcome.code)},
      {"latency_ms", absl::ToDoubleMilliseconds(latency)},
      {"attempts", result.attempts},
      {"limiter_wait_ms", absl::ToDoubleMilliseconds(result.limiter_wait)},
  };
  if (result.shared_with_inflight) fields["shared_with_inflight"] = true;
  if (std::string request_id = MetadataValue(context, "x-request-id"); !request_id.empty()) {
    fields["x_request_id"] = request_id;
  }
  if (!outcome.request_id.empty()) fields["alibaba_request_id"] = outcome.request_id;
  if (!outcome.ok()) {
    fields["reason"] = outcome.reason;
    if (!outcome.alibaba_code.empty()) fields["alibaba_code"] = outcome.alibaba_code;
    if (outcome.http_status != 0) fields["http_status"] = outcome.http_status;
    fields["error"] = outcome.message;
  }
  Log(outcome.ok() ? LogLevel::kInfo : LogLevel::kWarning, "CancelByJob finished", fields);
}

}  // namespace

OtaStrategyService::OtaStrategyService(const CancelByJobCaller& runner, const Clock& clock,
                                       ServiceOptions options)
    : runner_(runner),
      clock_(clock),
      options_(options),
      pending_(std::make_shared<PendingCalls>(options.max_pending_calls)) {}

int64_t OtaStrategyService::AnswerAllShuttingDown() {
  return pending_->AnswerAll(CallResult{.outcome = ShuttingDownOutcome()});
}

grpc::ServerUnaryReactor* OtaStrategyService::CancelByJob(
    grpc::CallbackServerContext* context, const ota::v1::CancelByJobRequest* request,
    ota::v1::CancelByJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time started = clock_.Now();

  // Captures the clock, not the service: after a drain timeout the answer is given by
  // AnswerAllShuttingDown, and the call's own late answer is dropped by PendingCalls unread.
  auto reply = [clock = &clock_, context, request, response, reactor, started](CallResult result) {
    if (result.outcome.ok()) response->set_request_id(result.outcome.request_id);
    LogCall(*context, *request, result, clock->Now() - started);
    reactor->Finish(ToGrpcStatus(result.outcome));
  };
  std::shared_ptr<PendingCalls::Ticket> ticket = pending_->Admit(reply);
  if (ticket == nullptr) {
    reply(CallResult{.outcome = pending_->closed() ? NotAcceptingOutcome()
                                                   : OverloadedOutcome(pending_->max_pending())});
    return reactor;
  }
  auto finish = [pending = pending_, ticket](CallResult result) {
    pending->Answer(*ticket, std::move(result));
  };

  if (std::optional<CallOutcome> invalid = ValidateCancelByJobRequest(*request)) {
    finish(CallResult{.outcome = *std::move(invalid)});
    return reactor;
  }
  runner_.Run(
      {.job_id = request->job_id(), .iot_instance_id = request->iot_instance_id()},
      CallerDeadline(*context, started, options_.default_timeout),
      [pending = pending_, ticket, context] {
        return pending->GaveUp(*ticket, [context] { return context->IsCancelled(); });
      },
      std::move(finish));
  return reactor;
}

}  // namespace ota
