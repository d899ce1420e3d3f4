#include "server/api/ota_strategy_service.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api/caller_deadline.h"
#include "server/api/grpc_status.h"
#include "server/api/request_id.h"
#include "server/api/request_validator.h"
#include "server/base/json_logger.h"
#include "server/observability/gateway_metrics.h"
#include "server/security/claimed_caller_name.h"

namespace ota {
namespace {

// A view into the call's metadata (valid while the call is); "" when absent.
std::string_view MetadataValue(const grpc::CallbackServerContext& context, absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return "";
  return {it->second.data(), it->second.size()};
}

void LogCall(const grpc::CallbackServerContext& context, const ota::v1::CancelByJobRequest& request,
             const AuthDecision& caller, const CallResult& result, absl::Duration latency) {
  const CallOutcome& outcome = result.outcome;
  const LogLevel level = outcome.ok() ? LogLevel::kInfo : LogLevel::kWarning;
  if (!LogEnabled(level)) return;  // no fields are built for a line that is not written
  // Assigned one by one: an initializer list builds every pair as a JSON array first, which cost
  // half again as much per call.
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  fields["rpc"] = "CancelByJob";
  fields["peer"] = context.peer();
  fields["caller"] = caller.caller;
  fields["identity"] = caller.identity.substr(0, 128);
  fields["job_id"] = request.job_id().substr(0, 128);
  fields["iot_instance_id"] = request.iot_instance_id().substr(0, 128);
  fields["code"] = absl::StatusCodeToString(outcome.code);
  fields["latency_ms"] = absl::ToDoubleMilliseconds(latency);
  fields["attempts"] = result.attempts;
  fields["limiter_wait_ms"] = absl::ToDoubleMilliseconds(result.limiter_wait);
  if (result.shared_with_inflight) fields["shared_with_inflight"] = true;
  if (result.queries > 0) fields["queries"] = result.queries;
  if (result.remembered) fields["remembered"] = true;
  if (outcome.cancel_outcome != CancelOutcome::kUnspecified) {
    fields["outcome"] =
        outcome.cancel_outcome == CancelOutcome::kCancelled ? "cancelled" : "already_cancelled";
  }
  if (std::string request_id = SanitizeRequestId(MetadataValue(context, kRequestIdMetadataKey));
      !request_id.empty()) {
    fields["x_request_id"] = request_id;
  }
  if (!outcome.request_id.empty()) fields["alibaba_request_id"] = outcome.request_id;
  if (!outcome.ok()) {
    fields["reason"] = outcome.reason;
    if (!outcome.alibaba_code.empty()) fields["alibaba_code"] = outcome.alibaba_code;
    if (outcome.http_status != 0) fields["http_status"] = outcome.http_status;
    fields["error"] = outcome.message;
  }
  Log(level, "CancelByJob finished", fields);
}

void AuditCall(AuditLog& audit, const grpc::CallbackServerContext& context,
               const ota::v1::CancelByJobRequest& request, const AuthDecision& caller,
               const CallResult& result, absl::Time now, absl::Duration latency) {
  const CallOutcome& outcome = result.outcome;
  // The caller is answered either way: the cancellation has happened (or not) by now, and the
  // caller must learn which. Failures are counted for alerting.
  absl::Status written = audit.Append(
      {.time = now,
       .caller = caller.caller,
       .identity = caller.identity,
       .peer = context.peer(),
       .job_id = request.job_id(),
       .iot_instance_id = request.iot_instance_id(),
       .code = outcome.code,
       .reason = outcome.reason,
       .alibaba_code = outcome.alibaba_code,
       .alibaba_request_id = outcome.request_id,
       .attempts = result.attempts,
       .x_request_id = SanitizeRequestId(MetadataValue(context, kRequestIdMetadataKey)),
       .latency = latency,
       .limiter_wait = result.limiter_wait});
  if (!written.ok()) {
    Log(LogLevel::kError, "audit log write failed; the call is answered anyway",
        {{"error", std::string(written.message())},
         {"audit_write_failures", audit.write_failures()},
         {"job_id", request.job_id().substr(0, 128)}});
  }
}

CallOutcome CallerRefused(const AuthDecision& decision) {
  return GatewayError(decision.code,
                      decision.code == absl::StatusCode::kUnauthenticated ? "CALLER_UNAUTHENTICATED"
                                                                          : "CALLER_NOT_ALLOWED",
                      decision.message);
}

}  // namespace

OtaStrategyService::OtaStrategyService(const CancelByJobCaller& runner, const Clock& clock,
                                       ServiceOptions options)
    : runner_(runner),
      clock_(clock),
      options_(std::move(options)),
      pending_(std::make_shared<PendingCalls>(options_.max_pending_calls)) {}

int64_t OtaStrategyService::AnswerAllShuttingDown() {
  return pending_->AnswerAll(CallResult{.outcome = ShuttingDownOutcome()});
}

grpc::ServerUnaryReactor* OtaStrategyService::CancelByJob(
    grpc::CallbackServerContext* context, const ota::v1::CancelByJobRequest* request,
    ota::v1::CancelByJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time started = clock_.Now();
  if (options_.metrics != nullptr) options_.metrics->CallStarted();
  // Every answer says which version of the contract served it, refusals included.
  if (!options_.contract_version.empty()) {
    context->AddInitialMetadata(std::string(kContractVersionHeader), options_.contract_version);
  }

  // Who is calling is settled before anything else looks at the request.
  AuthDecision caller = options_.authorizer != nullptr
                            ? options_.authorizer->Authorize(PresentedCredentialsOf(*context),
                                                             request->iot_instance_id())
                            : UncheckedCaller(PresentedCredentialsOf(*context));
  // Without a callers file a caller may name itself, unverified, for the fair share of the quota.
  std::optional<CallOutcome> bad_caller_name;
  const bool callers_checked =
      options_.authorizer != nullptr && options_.authorizer->checks_callers();
  if (caller.ok() && !callers_checked) {
    const std::string_view claimed_name = MetadataValue(*context, kCallerNameMetadataKey);
    absl::StatusOr<std::string> claimed =
        ClaimedCallerName(absl::string_view(claimed_name.data(), claimed_name.size()));
    if (claimed.ok()) {
      caller.caller = *std::move(claimed);
    } else {
      bad_caller_name = GatewayError(absl::StatusCode::kInvalidArgument, "INVALID_REQUEST",
                                     std::string(claimed.status().message()));
    }
  }

  // Captures what outlives the service's drain, not the service: after a drain timeout the answer
  // is given by AnswerAllShuttingDown, and the call's own late answer is dropped by PendingCalls.
  auto reply = [clock = &clock_, audit = options_.audit, metrics = options_.metrics, context,
                request, response, reactor, started, caller](CallResult result) {
    if (result.outcome.ok()) {
      response->set_request_id(result.outcome.request_id);
      response->set_outcome(result.outcome.cancel_outcome == CancelOutcome::kAlreadyCancelled
                                ? ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED
                                : ota::v1::CANCEL_OUTCOME_CANCELLED);
    }
    const absl::Time now = clock->Now();
    const absl::Duration latency = now - started;
    LogCall(*context, *request, caller, result, latency);
    if (audit != nullptr) AuditCall(*audit, *context, *request, caller, result, now, latency);
    if (metrics != nullptr) metrics->CallFinished(result.outcome.code, latency);
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

  if (!caller.ok()) {
    finish(CallResult{.outcome = CallerRefused(caller)});
    return reactor;
  }
  if (bad_caller_name.has_value()) {
    finish(CallResult{.outcome = *std::move(bad_caller_name)});
    return reactor;
  }
  if (std::optional<CallOutcome> invalid = ValidateCancelByJobRequest(*request)) {
    finish(CallResult{.outcome = *std::move(invalid)});
    return reactor;
  }
  // "anonymous" is every caller that did not say who it is: capping that crowd as one caller would
  // refuse calls while the gateway has room, so only --max-pending-calls bounds it. Named callers
  // get the dispatcher's default (0).
  const bool anonymous = !callers_checked && caller.caller == kAnonymousCaller;
  const int default_max_queued =
      anonymous ? static_cast<int>(std::min<int64_t>(options_.max_pending_calls, 1'000'000'000))
                : 0;
  const CallerDeadline deadline =
      ResolveCallerDeadline(context->deadline(), started, options_.default_timeout);
  runner_.Run(
      {.job_id = request->job_id(),
       .iot_instance_id = request->iot_instance_id(),
       .caller = {.name = caller.caller,
                  .share = caller.share,
                  .max_queued = caller.max_queued > 0 ? caller.max_queued : default_max_queued}},
      deadline.at,
      [pending = pending_, ticket, context] {
        return pending->GaveUp(*ticket, [context] { return context->IsCancelled(); });
      },
      [deadline, finish = std::move(finish)](CallResult result) {
        MentionDefaultDeadline(deadline, result.outcome);
        finish(std::move(result));
      });
  return reactor;
}

}  // namespace ota
