// Outcome resolution: the truth about a cancel whose answer was lost or that Alibaba refused,
// from what QueryOTAJob says about the batch.
//
// Cancelling is idempotent in effect (a policy cannot be cancelled twice), so after an attempt
// that was sent without a complete answer, and after a business refusal (whose OTA codes Alibaba
// does not document), the gateway asks QueryOTAJob and answers from the batch's state:
//
//   QueryOTAJob                      after a lost answer               after a refusal
//   SelectionType STATIC             FAILED_PRECONDITION JOB_NOT_DYNAMIC (either trigger)
//   JobStatus CANCELED               OK, ALREADY_CANCELLED             OK, ALREADY_CANCELLED
//   JobStatus COMPLETED              FAILED_PRECONDITION JOB_FINISHED  (same)
//   PLANNED / IN_PROGRESS            UNAVAILABLE UPSTREAM_UNAVAILABLE  the refusal as mapped
//                                    (not applied; retry is safe)
//   batch unknown (NOT_FOUND)        the query's NOT_FOUND             NOT_FOUND (the refusal's
//                                                                      if it was NOT_FOUND)
//   other refusal (auth, ...)        UNAVAILABLE OUTCOME_UNKNOWN       the refusal as mapped
//   unavailable / no time left       UNAVAILABLE OUTCOME_UNKNOWN       UNAVAILABLE OUTCOME_UNKNOWN
//
//   ota::CallOutcome answer = ota::ResolveCancelOutcome(ota::ResolutionTrigger::kSentWithoutAnswer,
//                                                       last_cancel_outcome, query_result);
#pragma once

#include <optional>

#include "absl/strings/string_view.h"
#include "server/call/attempt_result.h"
#include "server/call/call_outcome.h"

namespace ota {

enum class ResolutionTrigger {
  kSentWithoutAnswer,  // some attempt of the call left without a complete answer
  kRefused,            // Alibaba refused the cancel with a business error (and no answer was lost)
};

// `cancel` is the outcome of the call's last cancel attempt. `query` is QueryOTAJob's result, or
// nullopt when it could not be asked in time (no time left, no budget slot).
[[nodiscard]] CallOutcome ResolveCancelOutcome(ResolutionTrigger trigger, const CallOutcome& cancel,
                                               const std::optional<AttemptResult>& query,
                                               absl::string_view why_no_query = {});

}  // namespace ota
