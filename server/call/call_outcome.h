// CallOutcome: the result of one CancelByJob call in the gateway's own terms, before it is turned
// into a gRPC status. Every failure path (validation, limiter, transport, Alibaba's answer)
// produces one, so logs, retries and the gRPC reply all read the same facts.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace ota {

// ErrorInfo.domain values.
inline constexpr char kAlibabaDomain[] = "iot.aliyuncs.com";
inline constexpr char kGatewayDomain[] = "ota-gateway";

// How a successful call reached its goal (the contract's CancelOutcome).
enum class CancelOutcome {
  kUnspecified,       // not a success
  kCancelled,         // Alibaba answered Success to one of this call's own cancel requests
  kAlreadyCancelled,  // QueryOTAJob found JobStatus CANCELED, or the batch is remembered cancelled
};

struct CallOutcome {
  absl::StatusCode code = absl::StatusCode::kOk;
  CancelOutcome cancel_outcome = CancelOutcome::kUnspecified;  // set on success
  std::string message;     // for the caller; tells them what to do; never contains a secret
  std::string reason;      // ErrorInfo.reason, UPPER_SNAKE_CASE, empty on success
  std::string domain;      // kAlibabaDomain or kGatewayDomain
  std::string request_id;  // Alibaba's RequestId when Alibaba answered
  std::string alibaba_code;
  int http_status = 0;  // 0 when no HTTP answer was received
  // Whether sending the same request again may succeed (throttling, 5xx, network).
  bool retryable = false;
  // RetryInfo.retry_delay to advertise, when retrying later helps.
  std::optional<absl::Duration> retry_after;
  // Settled by asking QueryOTAJob (an answer was lost, or Alibaba refused the cancel).
  bool resolved_by_query = false;
  // BadRequest field violations (field name -> description), for INVALID_ARGUMENT.
  std::map<std::string, std::string> field_violations;

  [[nodiscard]] bool ok() const { return code == absl::StatusCode::kOk; }
};

// A failure decided by the gateway itself (not by Alibaba): `reason` is ErrorInfo.reason in
// kGatewayDomain, `message` tells the caller what to do.
[[nodiscard]] inline CallOutcome GatewayError(absl::StatusCode code, std::string reason,
                                              std::string message) {
  CallOutcome outcome;
  outcome.code = code;
  outcome.reason = std::move(reason);
  outcome.domain = kGatewayDomain;
  outcome.message = std::move(message);
  return outcome;
}

}  // namespace ota
