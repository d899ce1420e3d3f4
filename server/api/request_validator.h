// Request validation: the first thing a CancelByJob call meets. Bad input never reaches Alibaba.
//
// job_id is required; job_id and iot_instance_id allow 1-64 characters from A-Z a-z 0-9 _ - (the
// characters Alibaba's batch and instance IDs use). A failure is an INVALID_ARGUMENT CallOutcome
// naming every offending field and saying what a valid value looks like.
#pragma once

#include <optional>

#include "ota/v1/ota_strategy_service.pb.h"
#include "server/call/call_outcome.h"

namespace ota {

inline constexpr std::size_t kMaxIdLength = 64;

// nullopt when the request is valid.
[[nodiscard]] std::optional<CallOutcome> ValidateCancelByJobRequest(
    const ota::v1::CancelByJobRequest& request);

}  // namespace ota
