// FirmwareJobPage: one page of ListOTAJobByFirmware's answer, read from its JSON body.
//
// Alibaba answers {"RequestId","Success":true,"Total","PageSize","PageCount","CurrentPage",
// "Data":{"SimpleOTAJobInfo":[{"JobId","FirmwareId","ProductKey","JobStatus","JobType",
// "SelectionType","UtcCreate","UtcModified",...}]}}. Fields are kept as Alibaba spelled them (the
// gRPC layer maps them to the contract's enums and times); a missing or mistyped field reads as
// empty / 0, a missing Data as no jobs (what Alibaba answers for a firmware without batches).
// Only a body that is not a JSON object is an error.
//
//   absl::StatusOr<ota::FirmwareJobPage> page = ota::ParseFirmwareJobPage(result.upstream_body);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ota {

struct FirmwareJobInfo {
  std::string job_id;
  std::string firmware_id;
  std::string product_key;
  std::string job_status;      // PLANNED, IN_PROGRESS, COMPLETED, CANCELED
  std::string job_type;        // VERIFY_FIRMWARE, UPGRADE_FIRMWARE
  std::string selection_type;  // STATIC, DYNAMIC
  std::string utc_create;      // e.g. "2019-12-28T02:43:10.000Z"
  std::string utc_modified;
};

struct FirmwareJobPage {
  std::vector<FirmwareJobInfo> jobs;
  std::int64_t total = 0;  // batches in all pages
  std::int64_t page_count = 0;
  std::int64_t current_page = 0;
};

[[nodiscard]] absl::StatusOr<FirmwareJobPage> ParseFirmwareJobPage(std::string_view body);

}  // namespace ota
