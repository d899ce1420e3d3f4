#include "emulator/emulated_iot_api.h"

#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ota {
namespace {

std::string ParamOrEmpty(const ParamMap& params, const std::string& name) {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

ApiAnswer CancelResultAnswer(CancelResult result) {
  switch (result) {
    case CancelResult::kCancelled:
      return SuccessAnswer();
    case CancelResult::kJobNotFound:
      return BusinessErrorAnswer(kCodeJobNotExist, "The OTA update batch does not exist.");
    case CancelResult::kJobTypeNotSupported:
      return BusinessErrorAnswer(
          kCodeJobTypeNotSupported,
          "The OTA update batch is static; only a dynamic batch has a dynamic update policy.");
    case CancelResult::kJobStatusNotSupported:
      return BusinessErrorAnswer(
          kCodeJobStatusNotSupported,
          "The OTA update batch is already finished or cancelled; its policy cannot be cancelled.");
    case CancelResult::kInstanceNotFound:
      return BusinessErrorAnswer(kCodeInstanceNotFound, "The IoT instance does not exist.");
  }
  return BusinessErrorAnswer("iot.system.SystemException", "A system exception occurred.");
}

ApiAnswer QueryAnswer(const absl::StatusOr<JobState>& state, const std::string& job_id) {
  if (state.ok()) {
    const JobView view = ViewOf(*state);
    return QueryJobAnswer(job_id, view.job_status, view.selection_type);
  }
  if (state.status().code() == absl::StatusCode::kNotFound) {
    return BusinessErrorAnswer(kCodeJobNotExist, "The OTA update batch does not exist.");
  }
  return BusinessErrorAnswer(kCodeInstanceNotFound, "The IoT instance does not exist.");
}

// A paging parameter as a positive int, or nothing (missing, not a number, out of int's range).
std::optional<int> PositiveIntParam(const ParamMap& params, const std::string& name) {
  auto it = params.find(name);
  int value = 0;
  if (it == params.end() || !absl::SimpleAtoi(it->second, &value) || value < 1) {
    return std::nullopt;
  }
  return value;
}

ApiAnswer MissingParameterAnswer(absl::string_view name, const std::string& host) {
  return GatewayErrorAnswer(
      {400, "MissingParameter",
       absl::StrCat("The input parameter \"", name,
                    "\" that is mandatory for processing this request is not supplied.")},
      host);
}

}  // namespace

EmulatedIotApi::EmulatedIotApi(const RequestAuthenticator& authenticator, ActionQuotas quotas,
                               JobTable& jobs)
    : authenticator_(authenticator), quotas_(quotas), jobs_(jobs) {}

QuotaWindow* EmulatedIotApi::QuotaOf(absl::string_view action) const {
  if (action == kCancelAction) return &quotas_.cancel;
  if (action == kQueryJobAction) return &quotas_.query;
  if (action == kListJobsByFirmwareAction) return &quotas_.list;
  return nullptr;
}

ApiAnswer EmulatedIotApi::ListByFirmware(const ParamMap& params, const CallRecord& record) const {
  const std::optional<int> page = PositiveIntParam(params, "CurrentPage");
  const std::optional<int> page_size = PositiveIntParam(params, "PageSize");
  if (!page || !page_size || *page_size > kListJobsMaxPageSize) {
    return BusinessErrorAnswer(kCodeInvalidPageParams,
                               "The paging parameters are invalid: CurrentPage must be at least 1 "
                               "and PageSize 1 to 200.");
  }
  absl::StatusOr<JobPage> listed =
      jobs_.ListByFirmware(record.firmware_id, record.iot_instance_id, *page, *page_size);
  if (!listed.ok()) {
    return BusinessErrorAnswer(kCodeInstanceNotFound, "The IoT instance does not exist.");
  }
  return FirmwareJobsAnswer(*listed, *page, *page_size);
}

ApiAnswer EmulatedIotApi::Handle(const IncomingRequest& request, CallRecord& record) {
  const Authentication auth = authenticator_.Authenticate(request);
  record.action = auth.action;
  record.job_id = ParamOrEmpty(auth.params, "JobId");
  record.iot_instance_id = ParamOrEmpty(auth.params, "IotInstanceId");
  record.firmware_id = ParamOrEmpty(auth.params, "FirmwareId");
  record.access_key_id = auth.access_key_id;
  record.signature_method = auth.signature_method;

  const std::string host = request.Header("host");
  const bool listing = auth.action == kListJobsByFirmwareAction;
  QuotaWindow* const quota = QuotaOf(auth.action);
  ApiAnswer answer;
  if (auth.error) {
    answer = GatewayErrorAnswer(*auth.error, host);
  } else if (quota == nullptr) {
    answer = GatewayErrorAnswer({404, "InvalidAction.NotFound",
                                 "Specified api is not found, please check your url and method."},
                                host);
  } else if (auth.version != kIotApiVersion) {
    answer = GatewayErrorAnswer({400, "InvalidVersion",
                                 absl::StrCat("Specified parameter Version is not valid; expected ",
                                              std::string(kIotApiVersion), ".")},
                                host);
  } else if (!quota->TryAdmit(auth.account)) {
    answer = GatewayErrorAnswer(
        {400, "Throttling.User", "Request was denied due to user flow control."}, host);
  } else if (listing && record.firmware_id.empty()) {
    answer = MissingParameterAnswer("FirmwareId", host);
  } else if (listing) {
    answer = ListByFirmware(auth.params, record);
  } else if (record.job_id.empty()) {
    answer = MissingParameterAnswer("JobId", host);
  } else if (auth.action == kQueryJobAction) {
    answer = QueryAnswer(jobs_.Query(record.job_id, record.iot_instance_id), record.job_id);
  } else {
    answer = CancelResultAnswer(jobs_.CancelStrategy(record.job_id, record.iot_instance_id));
  }
  record.http_status = answer.http_status;
  record.code = answer.code;
  record.request_id = answer.request_id;
  return answer;
}

}  // namespace ota
