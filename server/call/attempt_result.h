// AttemptResult: what one upstream request (a cancel or a QueryOTAJob) came to, in the three
// classes the call path decides on:
//   never sent           DNS, connect, TLS, held by pacing: nothing can have been applied;
//   sent without answer  timeout or reset after the request left, or a 2xx whose body cannot be
//                        read: Alibaba may have applied it;
//   answered             Alibaba's own answer, success or error.
//
//   ota::AttemptResult result = ota::ClassifyAttempt(response, error_mapper);
//   if (result.kind == ota::AttemptKind::kSentWithoutAnswer) { /* retry, then ask QueryOTAJob */ }
#pragma once

#include "absl/status/statusor.h"
#include "server/call/call_outcome.h"
#include "server/call/error_mapping.h"
#include "server/call/upstream_reply.h"
#include "server/http/attempt_stage.h"
#include "server/http/http_message.h"

namespace ota {

enum class AttemptKind { kNeverSent, kSentWithoutAnswer, kAnswered };

struct AttemptResult {
  AttemptKind kind = AttemptKind::kNeverSent;
  CallOutcome outcome;  // the mapped outcome of this attempt alone
  UpstreamReply reply;  // when answered
};

[[nodiscard]] AttemptResult ClassifyAttempt(const absl::StatusOr<HttpResponse>& response,
                                            const ErrorMapper& errors);

// Whether an answered cancel is a business refusal (HTTP 2xx, Success=false, not retryable) that
// the gateway must not trust by its code alone (the OTA codes are undocumented) and so settles
// with QueryOTAJob. Refusals with documented platform codes (instance, account, request, auth)
// are taken as they are.
[[nodiscard]] bool IsBusinessRefusal(const AttemptResult& result);

}  // namespace ota
