// ApiAnswer: the HTTP answers iot-emulator gives, in Alibaba Cloud's JSON shapes.
//
// Alibaba answers an RPC call in one of three shapes, and so does the emulator:
//   - gateway-level rejection (signature, quota, unknown action ...): a non-2xx status with
//     {"RequestId","HostId","Code","Message","Recommend"};
//   - IoT business failure: HTTP 200 with {"RequestId","Success":false,"Code","ErrorMessage"};
//   - success: HTTP 200 with {"RequestId","Success":true} (QueryOTAJob and ListOTAJobByFirmware
//     add "Data" and, for the list, the paging fields).
// Every answer carries a fresh RequestId in Alibaba's upper-case UUID shape.
//
//   ota::ApiAnswer a = ota::GatewayErrorAnswer({400, "MissingParameter", "..."}, "iot.host");
//   response.status = a.http_status; response.body = a.body;
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "emulator/job_table.h"

namespace ota {

// A gateway-level rejection before the API itself runs.
struct GatewayError {
  int http_status = 400;
  std::string code;     // e.g. "SignatureDoesNotMatch"
  std::string message;  // e.g. "Specified signature is not matched with our calculation. ..."
};

struct ApiAnswer {
  int http_status = 200;
  std::string code;        // empty on success
  std::string request_id;  // the RequestId in the body
  std::string body;        // JSON
};

// "0A1B2C3D-...": 8-4-4-4-12 upper-case hex from a random source.
[[nodiscard]] std::string NewRequestId();

// `host_id` is the host the caller addressed (Alibaba echoes it as HostId).
[[nodiscard]] ApiAnswer GatewayErrorAnswer(const GatewayError& error, absl::string_view host_id);
[[nodiscard]] ApiAnswer BusinessErrorAnswer(absl::string_view code, absl::string_view message);
[[nodiscard]] ApiAnswer SuccessAnswer();
// QueryOTAJob's success: {"RequestId","Success":true,"Data":{"JobId","JobStatus","SelectionType",
// "JobType":"UPGRADE_FIRMWARE", ...}}.
[[nodiscard]] ApiAnswer QueryJobAnswer(absl::string_view job_id, absl::string_view job_status,
                                       absl::string_view selection_type);

// ListOTAJobByFirmware's success: {"RequestId","Success":true,"Total","PageSize","PageCount",
// "CurrentPage","Data":{"SimpleOTAJobInfo":[{"JobId","FirmwareId","ProductKey","JobStatus",
// "JobType","SelectionType","UtcCreate","UtcModified"}, ...]}}, times as
// "2019-12-28T02:43:10.000Z".
[[nodiscard]] ApiAnswer FirmwareJobsAnswer(const JobPage& page, int current_page, int page_size);

}  // namespace ota
