// ListJobsByFirmwareCaller: anything that can carry one page request of ListJobsByFirmware (Alibaba
// ListOTAJobByFirmware) to its outcome.
//
// The gRPC service talks to this interface, as it talks to CancelByJobCaller for cancels; the
// CancelByJobRunner implements both, so a page request goes through the same call path as a cancel
// (its own limiter budget, the fair share between callers, signing, sending, retries, throttles,
// error mapping). On success, CallResult::upstream_body holds Alibaba's JSON answer
// (firmware_job_page.h reads it).
//
//   const ota::ListJobsByFirmwareCaller& lister = runner;
//   lister.List({.firmware_id = "fw-1", .page = 1, .page_size = 200}, deadline,
//               /*is_cancelled=*/nullptr, [](ota::CallResult result) { /* reply */ });
#pragma once

#include <functional>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/call/cancel_by_job_caller.h"
#include "server/limiter/caller_share.h"

namespace ota {

struct ListJobsByFirmwareParams {
  std::string firmware_id = {};
  std::string iot_instance_id = {};  // empty: not sent
  int page = 1;                      // Alibaba CurrentPage, from 1
  int page_size = 50;                // Alibaba PageSize, 1..200
  CallerShare caller = {};  // who asks, for the fair share of the budget (not sent upstream)
};

class ListJobsByFirmwareCaller {
 public:
  using Done = CancelByJobCaller::Done;
  virtual ~ListJobsByFirmwareCaller() = default;

  // Starts the call; `done` runs exactly once, on whichever thread finished the call. `params` must
  // have been validated (ValidateListJobsByFirmwareRequest). `is_cancelled` (optional) tells
  // whether the caller has given up, so that work nobody waits for is not sent.
  virtual void List(ListJobsByFirmwareParams params, absl::Time deadline,
                    std::function<bool()> is_cancelled, Done done) const = 0;
};

}  // namespace ota
