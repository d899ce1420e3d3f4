// Alibaba time: UTC instants as Alibaba Cloud's APIs write them, yyyy-MM-ddTHH:mm:ssZ (RFC 3339,
// whole seconds): the Timestamp every signed request carries, STS and ECS credential expirations,
// and the times in the gateway's own messages about them.
//
//   std::string stamp = ota::FormatAlibabaTimestamp(absl::Now());  // "2026-12-07T02:13:07Z"
//   absl::StatusOr<absl::Time> expiry = ota::ParseAlibabaTime("2021-10-20T04:27:09Z");
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace ota {

[[nodiscard]] std::string FormatAlibabaTimestamp(absl::Time t);

// Accepts any RFC 3339 time (fractional seconds and offsets included, as some services send);
// INVALID_ARGUMENT names the text and the expected form.
[[nodiscard]] absl::StatusOr<absl::Time> ParseAlibabaTime(std::string_view text);

}  // namespace ota
