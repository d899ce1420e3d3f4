#include "server/api/request_validator.h"

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ota {
namespace {

bool IsIdCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Empty string when `value` is a valid ID; otherwise what is wrong with it. The offending value is
// not echoed whole (it may be huge or binary); its first bad character's position is.
std::string IdProblem(std::string_view value) {
  if (value.size() > kMaxIdLength) {
    return absl::StrCat("is ", value.size(), " characters long; at most ", kMaxIdLength,
                        " are allowed");
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!IsIdCharacter(value[i])) {
      return absl::StrCat("has a character that is not allowed at position ", i + 1,
                          "; only A-Z a-z 0-9 _ - are allowed");
    }
  }
  return "";
}

}  // namespace

std::optional<CallOutcome> ValidateCancelByJobRequest(const ota::v1::CancelByJobRequest& request) {
  std::map<std::string, std::string> violations;
  if (request.job_id().empty()) {
    violations["job_id"] =
        "is required: the ID of the update batch, as returned by CreateOTADynamicUpgradeJob";
  } else if (std::string problem = IdProblem(request.job_id()); !problem.empty()) {
    violations["job_id"] = std::move(problem);
  }
  if (!request.iot_instance_id().empty()) {
    if (std::string problem = IdProblem(request.iot_instance_id()); !problem.empty()) {
      violations["iot_instance_id"] = std::move(problem);
    }
  }
  if (violations.empty()) return std::nullopt;

  CallOutcome outcome;
  outcome.code = absl::StatusCode::kInvalidArgument;
  outcome.domain = kGatewayDomain;
  outcome.reason = violations.size() == 1 && violations.count("iot_instance_id") == 1
                       ? "INVALID_IOT_INSTANCE_ID"
                   : violations.size() == 1 ? "INVALID_JOB_ID"
                                            : "INVALID_REQUEST";
  outcome.message = absl::StrJoin(violations, "; ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, " ", entry.second);
  });
  outcome.field_violations = std::move(violations);
  return outcome;
}

}  // namespace ota
