#include "server/api/caller_deadline.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace ota {

CallerDeadline ResolveCallerDeadline(std::chrono::system_clock::time_point requested,
                                     absl::Time now, absl::Duration default_timeout) {
  if (requested == std::chrono::system_clock::time_point::max()) {
    return {.at = now + default_timeout, .defaulted = true, .default_timeout = default_timeout};
  }
  return {.at = std::min(absl::FromChrono(requested), now + absl::Hours(24)),
          .defaulted = false,
          .default_timeout = default_timeout};
}

void MentionDefaultDeadline(const CallerDeadline& deadline, CallOutcome& outcome) {
  if (!deadline.defaulted) return;
  const bool deadline_decided =
      outcome.code == absl::StatusCode::kDeadlineExceeded ||
      (outcome.code == absl::StatusCode::kResourceExhausted && outcome.reason == "RATE_LIMITED");
  if (!deadline_decided) return;
  absl::StrAppend(&outcome.message, " (you set no deadline, so the gateway's default deadline of ",
                  absl::FormatDuration(deadline.default_timeout),
                  " applied (its --default-timeout); set your own, e.g. grpcurl -max-time 30 or "
                  "ota-cancel --timeout 30s)");
}

}  // namespace ota
