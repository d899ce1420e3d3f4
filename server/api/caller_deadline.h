// The deadline a CancelByJob call runs under: the caller's own, or, when the caller set none, the
// gateway's --default-timeout. A refusal that the deadline caused then says so, so a caller who
// never set a deadline learns which one applied (and that they can set their own).
//
//   const CallerDeadline deadline = ResolveCallerDeadline(context->deadline(), now, 10s);
//   runner.Run(params, deadline.at, ..., [deadline](CallResult r) {
//     MentionDefaultDeadline(deadline, r.outcome);  // "... (you set no deadline, so ...)"
//   });
#pragma once

#include <chrono>

#include "absl/time/time.h"
#include "server/call/call_outcome.h"

namespace ota {

struct CallerDeadline {
  absl::Time at;
  // The caller set no deadline: `at` is now + default_timeout.
  bool defaulted = false;
  absl::Duration default_timeout;
};

// `requested` is the gRPC deadline (time_point::max() when the caller set none); a deadline more
// than 24 h away is cut to 24 h.
[[nodiscard]] CallerDeadline ResolveCallerDeadline(std::chrono::system_clock::time_point requested,
                                                   absl::Time now, absl::Duration default_timeout);

// When the deadline was the gateway's default and `outcome` is a refusal the deadline decided
// (RESOURCE_EXHAUSTED for want of a slot or of Alibaba's quota, DEADLINE_EXCEEDED), appends to
// its message which default applied and how to set one's own. Anything else is left alone.
void MentionDefaultDeadline(const CallerDeadline& deadline, CallOutcome& outcome);

}  // namespace ota
