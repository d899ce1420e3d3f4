// Error mapping: from what Alibaba (or the network) said to a CallOutcome.
//
// Known codes map exactly; unknown codes map by category (…NotFound/…NotExist -> NOT_FOUND,
// Throttling… -> RESOURCE_EXHAUSTED, …) and always keep Alibaba's original Code in the details.
// Operators can add or override mappings (`--error-map` file: one "Code=GRPC_CODE" a line), because
// the OTA-specific codes are not all documented.
//
//   ota::ErrorMapper mapper;                        // built-in table
//   ota::CallOutcome outcome = mapper.FromReply(ota::ParseUpstreamReply(response));
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/call/call_outcome.h"
#include "server/call/upstream_reply.h"

namespace ota {

class ErrorMapper {
 public:
  ErrorMapper() = default;

  // Parses override lines "Code=GRPC_CODE_NAME" ('#' comments and blank lines allowed), e.g.
  // "iot.ota.JobNotExist=NOT_FOUND". Codes match whole and ignoring case, like the built-in table
  // (Alibaba itself writes both "iot.system." and "Iot.system."); an override wins over the table.
  // OK is refused, and so is a code listed twice. INVALID_ARGUMENT names the bad line.
  [[nodiscard]] static absl::StatusOr<ErrorMapper> WithOverrides(std::string_view text);

  [[nodiscard]] CallOutcome FromReply(const UpstreamReply& reply) const;
  // A transport failure. Never sent (DNS, connect, TLS, pacing): UNAVAILABLE UPSTREAM_UNREACHABLE,
  // retryable, or DEADLINE_EXCEEDED UPSTREAM_TIMEOUT. Sent without a complete answer (timeout or
  // reset after the request left): UNAVAILABLE UPSTREAM_UNAVAILABLE, retryable; the call path
  // settles what happened with QueryOTAJob. The stage comes from the status (attempt_stage.h).
  [[nodiscard]] CallOutcome FromTransportError(const absl::Status& status) const;

 private:
  // Lower-cased Alibaba code -> gRPC code.
  std::map<std::string, absl::StatusCode, std::less<>> overrides_;
};

// The Alibaba codes of the built-in table, spelled as Alibaba writes them: the bounded label values
// of the ota_gateway_alibaba_errors_total metric (every other code is counted as "other").
[[nodiscard]] std::vector<std::string_view> KnownAlibabaCodes();

}  // namespace ota
