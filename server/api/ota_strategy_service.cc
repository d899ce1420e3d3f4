#include "server/api/ota_strategy_service.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/api/caller_deadline.h"
#include "server/api/grpc_status.h"
#include "server/api/ota_job_mapping.h"
#include "server/api/page_token.h"
#include "server/api/request_id.h"
#include "server/api/request_validator.h"
#include "server/base/json_logger.h"
#include "server/call/firmware_job_page.h"
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

// What a call was about, for its log and audit lines.
struct CallSubject {
  RpcMethod rpc;
  std::string id;  // job_id (CancelByJob) or firmware_id (ListJobsByFirmware)
  std::string iot_instance_id;
};

const char* SubjectField(RpcMethod rpc) {
  return rpc == RpcMethod::kListJobsByFirmware ? "firmware_id" : "job_id";
}

void LogCall(const grpc::CallbackServerContext& context, const CallSubject& subject,
             const AuthDecision& caller, const CallResult& result, absl::Duration latency,
             const nlohmann::ordered_json& details) {
  const CallOutcome& outcome = result.outcome;
  const LogLevel level = outcome.ok() ? LogLevel::kInfo : LogLevel::kWarning;
  if (!LogEnabled(level)) return;  // no fields are built for a line that is not written
  // Assigned one by one: an initializer list builds every pair as a JSON array first, which cost
  // half again as much per call.
  const std::string_view rpc = RpcMethodName(subject.rpc);
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  fields["rpc"] = rpc;
  fields["peer"] = context.peer();
  fields["caller"] = caller.caller;
  fields["identity"] = caller.identity.substr(0, 128);
  fields[SubjectField(subject.rpc)] = subject.id.substr(0, 128);
  fields["iot_instance_id"] = subject.iot_instance_id.substr(0, 128);
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
  for (const auto& [key, value] : details.items()) fields[key] = value;
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
  Log(level, absl::StrCat(absl::string_view(rpc.data(), rpc.size()), " finished"), fields);
}

void AuditCall(AuditLog& audit, const grpc::CallbackServerContext& context,
               const CallSubject& subject, const AuthDecision& caller, const CallResult& result,
               absl::Time now, absl::Duration latency) {
  const CallOutcome& outcome = result.outcome;
  const bool listing = subject.rpc == RpcMethod::kListJobsByFirmware;
  // The caller is answered either way: the cancellation has happened (or not) by now, and the
  // caller must learn which. Failures are counted for alerting.
  absl::Status written = audit.Append(
      {.time = now,
       .rpc = std::string(RpcMethodName(subject.rpc)),
       .caller = caller.caller,
       .identity = caller.identity,
       .peer = context.peer(),
       .job_id = listing ? std::string() : subject.id,
       .firmware_id = listing ? subject.id : std::string(),
       .iot_instance_id = subject.iot_instance_id,
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
         {SubjectField(subject.rpc), subject.id.substr(0, 128)}});
  }
}

CallOutcome CallerRefused(const AuthDecision& decision) {
  return GatewayError(decision.code,
                      decision.code == absl::StatusCode::kUnauthenticated ? "CALLER_UNAUTHENTICATED"
                                                                          : "CALLER_NOT_ALLOWED",
                      decision.message);
}

// Alibaba answered Success with a body that is not ListOTAJobByFirmware's JSON.
CallOutcome UnreadableListing(const CallOutcome& answered, absl::string_view why) {
  CallOutcome outcome =
      GatewayError(absl::StatusCode::kInternal, "UPSTREAM_BAD_RESPONSE",
                   absl::StrCat("Alibaba's ListOTAJobByFirmware answer could not be read (", why,
                                "); the listing changed nothing, so calling again is safe"));
  outcome.request_id = answered.request_id;
  outcome.http_status = answered.http_status;
  return outcome;
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

// What Admit leaves for the RPC's own work: `finish` is empty when the call was already answered
// (overloaded, shutting down, caller refused, bad caller name).
struct OtaStrategyService::Admission {
  std::function<void(CallResult)> finish;
  CallerShare share;
  CallerDeadline deadline;
  std::function<bool()> is_cancelled;
};

// `fill(CallResult&, nlohmann::ordered_json& log_details)` writes the response of a successful
// result (it may turn the result into an error) and adds its own fields to the log line; it runs
// once, right before the answer, with the final result of whichever path answered the call.
template <typename Fill>
OtaStrategyService::Admission OtaStrategyService::Admit(grpc::CallbackServerContext* context,
                                                        grpc::ServerUnaryReactor* reactor,
                                                        RpcMethod rpc, std::string subject_id,
                                                        std::string iot_instance_id, Fill fill) {
  const absl::Time started = clock_.Now();
  if (options_.metrics != nullptr) options_.metrics->CallStarted();
  // Every answer says which version of the contract served it, refusals included.
  if (!options_.contract_version.empty()) {
    context->AddInitialMetadata(std::string(kContractVersionHeader), options_.contract_version);
  }

  // Who is calling is settled before anything else looks at the request.
  const std::string_view rpc_name = RpcMethodName(rpc);
  AuthDecision caller =
      options_.authorizer != nullptr
          ? options_.authorizer->Authorize(PresentedCredentialsOf(*context), iot_instance_id,
                                           absl::string_view(rpc_name.data(), rpc_name.size()))
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
                reactor, started, caller,
                subject = CallSubject{.rpc = rpc,
                                      .id = std::move(subject_id),
                                      .iot_instance_id = std::move(iot_instance_id)},
                fill = std::move(fill)](CallResult result) mutable {
    nlohmann::ordered_json details = nlohmann::ordered_json::object();
    fill(result, details);
    const absl::Time now = clock->Now();
    const absl::Duration latency = now - started;
    LogCall(*context, subject, caller, result, latency, details);
    if (audit != nullptr) AuditCall(*audit, *context, subject, caller, result, now, latency);
    if (metrics != nullptr) metrics->CallFinished(result.outcome.code, latency, subject.rpc);
    reactor->Finish(ToGrpcStatus(result.outcome));
  };
  Admission admission;
  std::shared_ptr<PendingCalls::Ticket> ticket = pending_->Admit(reply);
  if (ticket == nullptr) {
    reply(CallResult{.outcome = pending_->closed() ? NotAcceptingOutcome()
                                                   : OverloadedOutcome(pending_->max_pending())});
    return admission;
  }
  auto finish = [pending = pending_, ticket](CallResult result) {
    pending->Answer(*ticket, std::move(result));
  };
  if (!caller.ok()) {
    finish(CallResult{.outcome = CallerRefused(caller)});
    return admission;
  }
  if (bad_caller_name.has_value()) {
    finish(CallResult{.outcome = *std::move(bad_caller_name)});
    return admission;
  }
  // "anonymous" is every caller that did not say who it is: capping that crowd as one caller would
  // refuse calls while the gateway has room, so only --max-pending-calls bounds it. Named callers
  // get the dispatcher's default (0).
  const bool anonymous = !callers_checked && caller.caller == kAnonymousCaller;
  const int default_max_queued =
      anonymous ? static_cast<int>(std::min<int64_t>(options_.max_pending_calls, 1'000'000'000))
                : 0;
  admission.share = {.name = caller.caller,
                     .share = caller.share,
                     .max_queued = caller.max_queued > 0 ? caller.max_queued : default_max_queued};
  admission.deadline =
      ResolveCallerDeadline(context->deadline(), started, options_.default_timeout);
  admission.is_cancelled = [pending = pending_, ticket, context] {
    return pending->GaveUp(*ticket, [context] { return context->IsCancelled(); });
  };
  admission.finish = [deadline = admission.deadline,
                      finish = std::move(finish)](CallResult result) {
    MentionDefaultDeadline(deadline, result.outcome);
    finish(std::move(result));
  };
  return admission;
}

grpc::ServerUnaryReactor* OtaStrategyService::CancelByJob(
    grpc::CallbackServerContext* context, const ota::v1::CancelByJobRequest* request,
    ota::v1::CancelByJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Admission call = Admit(
      context, reactor, RpcMethod::kCancelByJob, request->job_id(), request->iot_instance_id(),
      [response](CallResult& result, nlohmann::ordered_json&) {
        if (!result.outcome.ok()) return;
        response->set_request_id(result.outcome.request_id);
        response->set_outcome(result.outcome.cancel_outcome == CancelOutcome::kAlreadyCancelled
                                  ? ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED
                                  : ota::v1::CANCEL_OUTCOME_CANCELLED);
      });
  if (!call.finish) return reactor;
  if (std::optional<CallOutcome> invalid = ValidateCancelByJobRequest(*request)) {
    call.finish(CallResult{.outcome = *std::move(invalid)});
    return reactor;
  }
  runner_.Run({.job_id = request->job_id(),
               .iot_instance_id = request->iot_instance_id(),
               .caller = std::move(call.share)},
              call.deadline.at, std::move(call.is_cancelled), std::move(call.finish));
  return reactor;
}

grpc::ServerUnaryReactor* OtaStrategyService::ListJobsByFirmware(
    grpc::CallbackServerContext* context, const ota::v1::ListJobsByFirmwareRequest* request,
    ota::v1::ListJobsByFirmwareResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::variant<ListJobsPaging, CallOutcome> checked = ValidateListJobsByFirmwareRequest(*request);
  const ListJobsPaging paging = std::holds_alternative<ListJobsPaging>(checked)
                                    ? std::get<ListJobsPaging>(checked)
                                    : ListJobsPaging{};
  Admission call =
      Admit(context, reactor, RpcMethod::kListJobsByFirmware, request->firmware_id(),
            request->iot_instance_id(),
            [response, paging](CallResult& result, nlohmann::ordered_json& details) {
              if (!result.outcome.ok()) return;
              absl::StatusOr<FirmwareJobPage> page = ParseFirmwareJobPage(result.upstream_body);
              if (!page.ok()) {
                result.outcome = UnreadableListing(result.outcome, page.status().message());
                return;
              }
              for (const FirmwareJobInfo& info : page->jobs) *response->add_jobs() = ToOtaJob(info);
              response->set_total_size(static_cast<std::int32_t>(std::clamp<std::int64_t>(
                  page->total, 0, std::numeric_limits<std::int32_t>::max())));
              // Another page when Alibaba counts more batches than this page and those before it
              // held; an empty page ends the listing whatever Total says, so a wrong Total cannot
              // loop.
              const std::int64_t read = static_cast<std::int64_t>(paging.page) * paging.page_size;
              if (!page->jobs.empty() && read < page->total && paging.page < kMaxTokenPage) {
                response->set_next_page_token(EncodePageToken(paging.page + 1, paging.fingerprint));
              }
              details["page"] = paging.page;
              details["page_size"] = paging.page_size;
              details["jobs"] = page->jobs.size();
              details["total_size"] = page->total;
            });
  if (!call.finish) return reactor;
  if (std::holds_alternative<CallOutcome>(checked)) {
    call.finish(CallResult{.outcome = std::get<CallOutcome>(std::move(checked))});
    return reactor;
  }
  if (options_.lister == nullptr) {
    call.finish(CallResult{
        .outcome = GatewayError(absl::StatusCode::kUnimplemented, "GATEWAY_INTERNAL_ERROR",
                                "this gateway does not serve ListJobsByFirmware")});
    return reactor;
  }
  options_.lister->List({.firmware_id = request->firmware_id(),
                         .iot_instance_id = request->iot_instance_id(),
                         .page = paging.page,
                         .page_size = paging.page_size,
                         .caller = std::move(call.share)},
                        call.deadline.at, std::move(call.is_cancelled), std::move(call.finish));
  return reactor;
}

}  // namespace ota
