// EmulatedIotApi: the emulator's CancelOTAStrategyByJob, QueryOTAJob and ListOTAJobByFirmware, from
// verified request to Alibaba answer.
//
// One call goes through the steps Alibaba's gateway and the IoT service take, and stops at the
// first that fails:
//   1. authentication (RequestAuthenticator): signature, key, timestamp, token, nonce;
//   2. Action must be one of the three (InvalidAction.NotFound, 404) and Version 2018-01-20
//      (InvalidVersion, 400);
//   3. the account's quota for that action (each has its own QuotaWindow, as at Alibaba):
//      Throttling.User, 400;
//   4. JobId present, or FirmwareId for the list (MissingParameter, 400);
//   5. the list's paging: CurrentPage >= 1 and PageSize 1..200, both required
//      (iot.common.InvalidPageParams, a business answer);
//   6. the job table: HTTP 200 business answers, success or Success:false with an iot.* Code;
//      QueryOTAJob answers Data.JobStatus and Data.SelectionType (JobTable's ViewOf), the list
//      Data.SimpleOTAJobInfo[] with Total, PageSize, PageCount and CurrentPage (an unknown firmware
//      has no jobs: Success with an empty list).
// Every step fills the call's record, so rejected and throttled calls are recorded too.
//
//   ota::EmulatedIotApi api(authenticator, {.cancel = q1, .query = q2, .list = q3}, jobs);
//   ota::CallRecord record;
//   ota::ApiAnswer answer = api.Handle(request, record);
#pragma once

#include "absl/strings/string_view.h"
#include "emulator/api_answer.h"
#include "emulator/call_record.h"
#include "emulator/job_table.h"
#include "emulator/quota_window.h"
#include "emulator/request_authenticator.h"
#include "server/signing/iot_api.h"

namespace ota {

// The business error codes. Alibaba does not document the OTA-specific ones; these are the
// emulator's choice (see emulator/README.md).
inline constexpr absl::string_view kCodeJobNotExist = "iot.ota.OtaJobNotExist";
inline constexpr absl::string_view kCodeJobTypeNotSupported = "iot.ota.OtaJobTypeNotSupported";
inline constexpr absl::string_view kCodeJobStatusNotSupported = "iot.ota.OtaJobStatusNotSupported";
inline constexpr absl::string_view kCodeInstanceNotFound = "iot.system.InstanceNotFound";
// Documented by Alibaba (platform code): CurrentPage or PageSize missing or out of range.
inline constexpr absl::string_view kCodeInvalidPageParams = "iot.common.InvalidPageParams";

// Each action's own quota, as Alibaba counts each API separately.
struct ActionQuotas {
  QuotaWindow& cancel;
  QuotaWindow& query;
  QuotaWindow& list;
};

class EmulatedIotApi {
 public:
  EmulatedIotApi(const RequestAuthenticator& authenticator, ActionQuotas quotas, JobTable& jobs);

  // Answers one call; fills every field of `record` except arrival time and fault information.
  [[nodiscard]] ApiAnswer Handle(const IncomingRequest& request, CallRecord& record);

 private:
  [[nodiscard]] QuotaWindow* QuotaOf(absl::string_view action) const;
  [[nodiscard]] ApiAnswer ListByFirmware(const ParamMap& params, const CallRecord& record) const;

  const RequestAuthenticator& authenticator_;
  ActionQuotas quotas_;
  JobTable& jobs_;
};

}  // namespace ota
