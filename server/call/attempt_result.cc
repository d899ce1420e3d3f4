#include "server/call/attempt_result.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace ota {

AttemptResult ClassifyAttempt(const absl::StatusOr<HttpResponse>& response,
                              const ErrorMapper& errors) {
  AttemptResult result;
  if (!response.ok()) {
    result.outcome = errors.FromTransportError(response.status());
    result.kind = AttemptStageOf(response.status()) == AttemptStage::kNeverSent
                      ? AttemptKind::kNeverSent
                      : AttemptKind::kSentWithoutAnswer;
    return result;
  }
  result.reply = ParseUpstreamReply(*response);
  const UpstreamReply& reply = result.reply;
  const bool is_2xx = reply.http_status >= 200 && reply.http_status < 300;
  if (is_2xx && !reply.success && (!reply.parsed || reply.code.empty())) {
    // A 2xx that is not an API answer (cut short, not JSON, neither Success nor Code): the request
    // arrived and may have been applied, but what Alibaba said cannot be read.
    result.kind = AttemptKind::kSentWithoutAnswer;
    result.outcome =
        GatewayError(absl::StatusCode::kUnavailable, "UPSTREAM_BAD_RESPONSE",
                     absl::StrCat("the request was sent to Alibaba, whose endpoint answered HTTP ",
                                  reply.http_status, " with a body that cannot be read"));
    result.outcome.http_status = reply.http_status;
    result.outcome.request_id = reply.request_id;
    result.outcome.retryable = true;
    return result;
  }
  result.kind = AttemptKind::kAnswered;
  result.outcome = errors.FromReply(reply);
  return result;
}

bool IsBusinessRefusal(const AttemptResult& result) {
  if (result.kind != AttemptKind::kAnswered || result.outcome.ok() || result.outcome.retryable) {
    return false;
  }
  const UpstreamReply& reply = result.reply;
  if (!reply.parsed || reply.http_status < 200 || reply.http_status >= 300) return false;
  const std::string& reason = result.outcome.reason;
  return reason != "INSTANCE_NOT_FOUND" && reason != "IOT_NOT_ACTIVATED" &&
         reason != "ACCOUNT_OVERDUE" && reason != "INVALID_REQUEST" &&
         reason != "UPSTREAM_AUTH_FAILED" && reason != "UPSTREAM_CLOCK_SKEW" &&
         reason != "UPSTREAM_PERMISSION_DENIED";
}

}  // namespace ota
