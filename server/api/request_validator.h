// Request validation: the first thing a CancelByJob or ListJobsByFirmware call meets. Bad input
// never reaches Alibaba.
//
// job_id (CancelByJob) and firmware_id (ListJobsByFirmware) are required; they and
// iot_instance_id allow 1-64 characters from A-Z a-z 0-9 _ - (the characters Alibaba's batch,
// firmware and instance IDs use). ListJobsByFirmware's page_size must not be negative (0 means
// kDefaultListPageSize, more than kListJobsMaxPageSize is read as that), and its page_token must
// be one this gateway issued for the same fields (page_token.h). A failure is an INVALID_ARGUMENT
// CallOutcome naming every offending field and saying what a valid value looks like.
#pragma once

#include <optional>
#include <variant>

#include "ota/v1/ota_strategy_service.pb.h"
#include "server/call/call_outcome.h"

namespace ota {

inline constexpr std::size_t kMaxIdLength = 64;

// The page size of a ListJobsByFirmware call that asks for none (page_size 0).
inline constexpr int kDefaultListPageSize = 50;

// nullopt when the request is valid.
[[nodiscard]] std::optional<CallOutcome> ValidateCancelByJobRequest(
    const ota::v1::CancelByJobRequest& request);

// What a valid ListJobsByFirmware request asks Alibaba for.
struct ListJobsPaging {
  int page = 1;  // Alibaba CurrentPage
  int page_size = kDefaultListPageSize;
  std::string fingerprint;  // of the fields the paging depends on, for the next page's token
};

// The paging of a valid request, or the INVALID_ARGUMENT outcome naming every bad field.
[[nodiscard]] std::variant<ListJobsPaging, CallOutcome> ValidateListJobsByFirmwareRequest(
    const ota::v1::ListJobsByFirmwareRequest& request);

}  // namespace ota
