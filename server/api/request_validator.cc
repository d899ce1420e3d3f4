#include "server/api/request_validator.h"

#include <algorithm>
#include <map>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/api/page_token.h"
#include "server/signing/iot_api.h"

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

// What is wrong with a request's required ID (`field`, described as `what` when missing) and its
// optional iot_instance_id: field -> problem, empty when both are fine.
std::map<std::string, std::string> IdViolations(const char* field, std::string_view id,
                                                const char* what,
                                                std::string_view iot_instance_id) {
  std::map<std::string, std::string> violations;
  if (id.empty()) {
    violations[field] = absl::StrCat("is required: ", what);
  } else if (std::string problem = IdProblem(id); !problem.empty()) {
    violations[field] = std::move(problem);
  }
  if (!iot_instance_id.empty()) {
    if (std::string problem = IdProblem(iot_instance_id); !problem.empty()) {
      violations["iot_instance_id"] = std::move(problem);
    }
  }
  return violations;
}

// The INVALID_ARGUMENT outcome for `violations` (field -> problem): the field's own reason when
// one field is wrong, INVALID_REQUEST when several are.
CallOutcome InvalidRequest(std::map<std::string, std::string> violations,
                           const std::map<std::string, std::string>& reason_of_field) {
  CallOutcome outcome;
  outcome.code = absl::StatusCode::kInvalidArgument;
  outcome.domain = kGatewayDomain;
  outcome.reason = "INVALID_REQUEST";
  if (violations.size() == 1) {
    auto it = reason_of_field.find(violations.begin()->first);
    if (it != reason_of_field.end()) outcome.reason = it->second;
  }
  outcome.message = absl::StrJoin(violations, "; ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, " ", entry.second);
  });
  outcome.field_violations = std::move(violations);
  return outcome;
}

}  // namespace

std::optional<CallOutcome> ValidateCancelByJobRequest(const ota::v1::CancelByJobRequest& request) {
  std::map<std::string, std::string> violations =
      IdViolations("job_id", request.job_id(),
                   "the ID of the update batch, as returned by CreateOTADynamicUpgradeJob",
                   request.iot_instance_id());
  if (violations.empty()) return std::nullopt;
  return InvalidRequest(std::move(violations), {{"job_id", "INVALID_JOB_ID"},
                                                {"iot_instance_id", "INVALID_IOT_INSTANCE_ID"}});
}

std::variant<ListJobsPaging, CallOutcome> ValidateListJobsByFirmwareRequest(
    const ota::v1::ListJobsByFirmwareRequest& request) {
  std::map<std::string, std::string> violations = IdViolations(
      "firmware_id", request.firmware_id(),
      "the ID of the firmware, as returned by CreateOTAFirmware", request.iot_instance_id());
  ListJobsPaging paging;
  if (request.page_size() < 0) {
    violations["page_size"] =
        absl::StrCat("is ", request.page_size(), "; it must be 0 (for ", kDefaultListPageSize,
                     ") or positive (at most ", kListJobsMaxPageSize, " are returned)");
  } else if (request.page_size() > 0) {
    paging.page_size = std::min(request.page_size(), kListJobsMaxPageSize);
  }
  if (violations.empty()) {
    paging.fingerprint =
        PagingFingerprint(request.firmware_id(), request.iot_instance_id(), paging.page_size);
    if (!request.page_token().empty()) {
      absl::StatusOr<int> page = DecodePageToken(request.page_token(), paging.fingerprint);
      if (page.ok()) {
        paging.page = *page;
      } else {
        violations["page_token"] = std::string(page.status().message());
      }
    }
  }
  if (violations.empty()) return paging;
  return InvalidRequest(std::move(violations), {{"firmware_id", "INVALID_FIRMWARE_ID"},
                                                {"iot_instance_id", "INVALID_IOT_INSTANCE_ID"},
                                                {"page_size", "INVALID_PAGE_SIZE"},
                                                {"page_token", "INVALID_PAGE_TOKEN"}});
}

}  // namespace ota
