// EmulatedIotApi: the emulator's CancelOTAStrategyByJob and QueryOTAJob, from verified request to
// Alibaba answer.
//
// One call goes through the steps Alibaba's gateway and the IoT service take, and stops at the
// first that fails:
//   1. authentication (RequestAuthenticator): signature, key, timestamp, token, nonce;
//   2. Action must be CancelOTAStrategyByJob or QueryOTAJob (InvalidAction.NotFound, 404) and
//      Version 2018-01-20 (InvalidVersion, 400);
//   3. the account's quota for that action (each has its own QuotaWindow, as at Alibaba):
//      Throttling.User, 400;
//   4. JobId present (MissingParameter, 400);
//   5. the job table: HTTP 200 business answers, success or Success:false with an iot.* Code;
//      QueryOTAJob answers Data.JobStatus and Data.SelectionType (JobTable's ViewOf).
// Every step fills the call's record, so rejected and throttled calls are recorded too.
//
//   ota::EmulatedIotApi api(authenticator, quota, jobs);
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

class EmulatedIotApi {
 public:
  EmulatedIotApi(const RequestAuthenticator& authenticator, QuotaWindow& quota,
                 QuotaWindow& query_quota, JobTable& jobs);

  // Answers one call; fills every field of `record` except arrival time and fault information.
  [[nodiscard]] ApiAnswer Handle(const IncomingRequest& request, CallRecord& record);

 private:
  const RequestAuthenticator& authenticator_;
  QuotaWindow& quota_;
  QuotaWindow& query_quota_;
  JobTable& jobs_;
};

}  // namespace ota
