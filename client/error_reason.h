// ErrorInfo reasons and domains as the C++ client sees them, derived from the contract's own enums
// (ota.v1.ErrorReason, ota.v1.ErrorDomain): the one list every client package's constants come
// from, so a reason can be compared without copying its string.
//
//   ota::client::CancelResult result = client.CancelByJob("job-1");
//   if (result.error.reason == ota::client::ReasonString(ota::v1::ERROR_REASON_RATE_LIMITED)) ...
//   if (ota::client::ReasonFromString(result.error.reason) == ota::v1::ERROR_REASON_JOB_NOT_FOUND)
#pragma once

#include <string>
#include <string_view>

#include "ota/v1/ota_strategy_service.pb.h"

namespace ota::client {

// The reason string the gateway sends: the value's name without "ERROR_REASON_" ("RATE_LIMITED").
[[nodiscard]] std::string ReasonString(ota::v1::ErrorReason reason);

// The value whose ReasonString is `reason`; ERROR_REASON_UNSPECIFIED for a reason this version of
// the contract does not know (a newer gateway may add some).
[[nodiscard]] ota::v1::ErrorReason ReasonFromString(std::string_view reason);

// The ErrorInfo.domain of `domain` (its `error_domain` option: "ota-gateway", "iot.aliyuncs.com");
// empty for ERROR_DOMAIN_UNSPECIFIED.
[[nodiscard]] std::string DomainString(ota::v1::ErrorDomain domain);

}  // namespace ota::client
