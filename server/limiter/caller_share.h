// CallerShare: who is asking for a slot, as far as fairness is concerned, and how big a part of the
// account's quota they are owed when callers compete.
//
// Names come from --callers-file (or, unauthenticated, the unverified x-ota-caller metadata, else
// "anonymous"); `share` and `max_queued` from the caller's entry in that file.
//
//   ota::CallerShare rollout{.name = "rollout-service", .share = 1, .max_queued = 0};
//   ota::CallerShare oncall{.name = "on-call", .share = 3, .max_queued = 20};
#pragma once

#include <string>

namespace ota {

struct CallerShare {
  std::string name = "anonymous";
  int share = 1;       // relative weight (>= 1) when callers compete for the same budget
  int max_queued = 0;  // calls this caller may have waiting for a slot; 0: the gateway's default
};

}  // namespace ota
