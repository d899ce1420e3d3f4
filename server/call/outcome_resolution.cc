#include "server/call/outcome_resolution.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ota {
namespace {

// Callers may retry after this long when the outcome is unknown or the cancel was not applied.
constexpr absl::Duration kRetrySoon = absl::Seconds(1);

std::string WhatHappened(ResolutionTrigger trigger, const CallOutcome& cancel) {
  if (trigger == ResolutionTrigger::kSentWithoutAnswer) {
    return "a cancel request was sent to Alibaba but its answer was lost";
  }
  return absl::StrCat("Alibaba refused the cancel (", cancel.alibaba_code, ")");
}

CallOutcome OutcomeUnknown(ResolutionTrigger trigger, const CallOutcome& cancel,
                           absl::string_view why) {
  CallOutcome outcome = GatewayError(
      absl::StatusCode::kUnavailable, "OUTCOME_UNKNOWN",
      absl::StrCat(WhatHappened(trigger, cancel), ", and QueryOTAJob could not be had in time to ",
                   "learn the batch's state (", why,
                   "): the cancel may have been applied; calling again is safe"));
  outcome.retryable = true;
  outcome.retry_after = kRetrySoon;
  outcome.alibaba_code = cancel.alibaba_code;
  outcome.http_status = cancel.http_status;
  outcome.resolved_by_query = true;
  return outcome;
}

// Why QueryOTAJob gave no usable answer, in a few words (its own message would read as if it were
// about the cancel).
std::string QueryFailure(const AttemptResult& query) {
  switch (query.kind) {
    case AttemptKind::kNeverSent:
      return "its request could not be sent";
    case AttemptKind::kSentWithoutAnswer:
      return "its answer was lost";
    case AttemptKind::kAnswered:
      break;
  }
  if (!query.outcome.alibaba_code.empty()) {
    return absl::StrCat("it answered ", query.outcome.alibaba_code);
  }
  return absl::StrCat("it answered HTTP ", query.outcome.http_status);
}

CallOutcome FromJobState(ResolutionTrigger trigger, const CallOutcome& cancel,
                         const UpstreamReply& reply) {
  const std::string status = absl::AsciiStrToUpper(reply.job_status);
  const std::string selection = absl::AsciiStrToUpper(reply.selection_type);
  CallOutcome outcome;
  outcome.request_id = reply.request_id;
  outcome.http_status = reply.http_status;
  outcome.resolved_by_query = true;
  const std::string seen =
      absl::StrCat("QueryOTAJob reports JobStatus ", status, ", SelectionType ",
                   selection.empty() ? "(none)" : selection, " [RequestId ", reply.request_id, "]");
  if (selection == "STATIC") {
    outcome.code = absl::StatusCode::kFailedPrecondition;
    outcome.reason = "JOB_NOT_DYNAMIC";
    outcome.domain = kAlibabaDomain;
    outcome.alibaba_code = cancel.alibaba_code;
    outcome.message =
        absl::StrCat("the OTA update batch is static: there is no dynamic policy to cancel (", seen,
                     "); do not retry: only a dynamic batch's policy can be cancelled");
    return outcome;
  }
  if (status == "CANCELED" || status == "CANCELLED") {
    outcome.cancel_outcome = CancelOutcome::kAlreadyCancelled;
    outcome.domain = kAlibabaDomain;
    return outcome;
  }
  if (status == "COMPLETED") {
    outcome.code = absl::StatusCode::kFailedPrecondition;
    outcome.reason = "JOB_FINISHED";
    outcome.domain = kAlibabaDomain;
    outcome.alibaba_code = cancel.alibaba_code;
    outcome.message = absl::StrCat(
        "the OTA update batch is already finished: there is no update policy left to cancel (",
        seen, "); do not retry");
    return outcome;
  }
  // Still planned or in progress: the cancel has not taken effect.
  if (trigger == ResolutionTrigger::kRefused) {
    CallOutcome refused = cancel;
    refused.resolved_by_query = true;
    absl::StrAppend(&refused.message, " (", seen, ")");
    return refused;
  }
  // A request whose answer was lost may still be on its way through Alibaba's front ends: the
  // query can overtake it (seen under arrival jitter), so "not applied yet" is all it shows.
  outcome = GatewayError(
      absl::StatusCode::kUnavailable, "OUTCOME_UNKNOWN",
      absl::StrCat(WhatHappened(trigger, cancel), "; ", seen,
                   ": the cancel had not taken effect when QueryOTAJob answered, but the lost "
                   "request may still be applied, so the cancel may have been applied; calling "
                   "again is safe (",
                   cancel.message, ")"));
  outcome.request_id = reply.request_id;
  outcome.retryable = true;
  outcome.retry_after = kRetrySoon;
  outcome.resolved_by_query = true;
  return outcome;
}

}  // namespace

CallOutcome ResolveCancelOutcome(ResolutionTrigger trigger, const CallOutcome& cancel,
                                 const std::optional<AttemptResult>& query,
                                 absl::string_view why_no_query) {
  if (!query.has_value()) {
    return OutcomeUnknown(trigger, cancel,
                          why_no_query.empty() ? "no time left before the deadline" : why_no_query);
  }
  if (query->kind != AttemptKind::kAnswered) {
    return OutcomeUnknown(trigger, cancel, QueryFailure(*query));
  }
  const CallOutcome& said = query->outcome;
  if (said.ok()) {
    if (query->reply.job_status.empty()) {
      return OutcomeUnknown(trigger, cancel, "its answer carries no Data.JobStatus");
    }
    return FromJobState(trigger, cancel, query->reply);
  }
  if (said.code == absl::StatusCode::kNotFound) {
    if (cancel.code == absl::StatusCode::kNotFound) {
      CallOutcome not_found = cancel;
      not_found.resolved_by_query = true;
      absl::StrAppend(&not_found.message, " (QueryOTAJob does not know the batch either)");
      return not_found;
    }
    CallOutcome not_found = said;
    not_found.resolved_by_query = true;
    not_found.message = absl::StrCat("QueryOTAJob: ", said.message);
    return not_found;
  }
  if (said.retryable) return OutcomeUnknown(trigger, cancel, QueryFailure(*query));
  if (trigger == ResolutionTrigger::kRefused) {
    CallOutcome refused = cancel;
    refused.resolved_by_query = true;
    absl::StrAppend(&refused.message,
                    " (QueryOTAJob could not confirm the batch's state: ", QueryFailure(*query),
                    ")");
    return refused;
  }
  return OutcomeUnknown(trigger, cancel, QueryFailure(*query));
}

}  // namespace ota
