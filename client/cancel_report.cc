#include "client/cancel_report.h"

#include <string>

namespace ota::client {
namespace {

nlohmann::json StringOrNull(const std::string& value) {
  return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
}

}  // namespace

ExitCode ExitCodeFor(const CancelResult& result) {
  if (result.ok()) return kExitOk;
  switch (result.error->code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return kExitInvalidArgument;
    case grpc::StatusCode::NOT_FOUND:
      return kExitNotFound;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return kExitFailedPrecondition;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitResourceExhausted;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return kExitUnavailable;
    default:
      return kExitOther;
  }
}

nlohmann::json CancelResultToJson(const CancelResult& result) {
  if (result.ok()) {
    // "cancelled" or "already_cancelled" (an old gateway's UNSPECIFIED reads "cancelled").
    return {{"ok", true},
            {"request_id", result.request_id},
            {"outcome", result.outcome == ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED
                            ? "already_cancelled"
                            : "cancelled"}};
  }
  const CallError& error = *result.error;
  nlohmann::json violations = nlohmann::json::array();
  for (const FieldViolation& violation : error.field_violations) {
    violations.push_back({{"field", violation.field}, {"description", violation.description}});
  }
  return {
      {"ok", false},
      {"code", StatusCodeName(error.code)},
      {"grpc_code", static_cast<int>(error.code)},
      {"message", error.message},
      {"reason", StringOrNull(error.reason)},
      {"domain", StringOrNull(error.domain)},
      {"alibaba_code", StringOrNull(error.alibaba_code)},
      {"alibaba_request_id", StringOrNull(error.alibaba_request_id)},
      {"http_status",
       error.http_status == 0 ? nlohmann::json(nullptr) : nlohmann::json(error.http_status)},
      {"retry_delay_seconds", error.retry_delay
                                  ? nlohmann::json(absl::ToDoubleSeconds(*error.retry_delay))
                                  : nlohmann::json(nullptr)},
      {"field_violations", std::move(violations)},
  };
}

}  // namespace ota::client
