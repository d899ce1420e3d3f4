// OtaJob mapping: Alibaba's SimpleOTAJobInfo (as FirmwareJobPage read it) in the contract's terms.
//
// Enum strings map by Alibaba's spelling (case-insensitive); one this contract does not know yet is
// *_UNSPECIFIED, so a new Alibaba value never fails a listing. Times are RFC 3339 as Alibaba writes
// them ("2019-12-28T02:43:10.000Z"); one that does not parse is left unset.
//
//   ota::v1::OtaJob job = ota::ToOtaJob(page.jobs[0]);
#pragma once

#include <string_view>

#include "ota/v1/ota_strategy_service.pb.h"
#include "server/call/firmware_job_page.h"

namespace ota {

[[nodiscard]] ota::v1::JobStatus JobStatusOf(std::string_view alibaba);
[[nodiscard]] ota::v1::SelectionType SelectionTypeOf(std::string_view alibaba);
[[nodiscard]] ota::v1::JobType JobTypeOf(std::string_view alibaba);

[[nodiscard]] ota::v1::OtaJob ToOtaJob(const FirmwareJobInfo& info);

}  // namespace ota
