#include "emulator/emulated_iot_api.h"

#include <string>

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

}  // namespace

EmulatedIotApi::EmulatedIotApi(const RequestAuthenticator& authenticator, QuotaWindow& quota,
                               QuotaWindow& query_quota, JobTable& jobs)
    : authenticator_(authenticator), quota_(quota), query_quota_(query_quota), jobs_(jobs) {}

ApiAnswer EmulatedIotApi::Handle(const IncomingRequest& request, CallRecord& record) {
  const Authentication auth = authenticator_.Authenticate(request);
  record.action = auth.action;
  record.job_id = ParamOrEmpty(auth.params, "JobId");
  record.iot_instance_id = ParamOrEmpty(auth.params, "IotInstanceId");
  record.access_key_id = auth.access_key_id;
  record.signature_method = auth.signature_method;

  const std::string host = request.Header("host");
  ApiAnswer answer;
  if (auth.error) {
    answer = GatewayErrorAnswer(*auth.error, host);
  } else if (auth.action != kCancelAction && auth.action != kQueryJobAction) {
    answer = GatewayErrorAnswer({404, "InvalidAction.NotFound",
                                 "Specified api is not found, please check your url and method."},
                                host);
  } else if (auth.version != kIotApiVersion) {
    answer = GatewayErrorAnswer({400, "InvalidVersion",
                                 absl::StrCat("Specified parameter Version is not valid; expected ",
                                              std::string(kIotApiVersion), ".")},
                                host);
  } else if (!(auth.action == kQueryJobAction ? query_quota_ : quota_).TryAdmit(auth.account)) {
    answer = GatewayErrorAnswer(
        {400, "Throttling.User", "Request was denied due to user flow control."}, host);
  } else if (record.job_id.empty()) {
    answer = GatewayErrorAnswer(
        {400, "MissingParameter",
         "The input parameter \"JobId\" that is mandatory for processing this request is not "
         "supplied."},
        host);
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
