#include "server/api/grpc_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ota {
namespace {

void SetDuration(absl::Duration d, google::protobuf::Duration* out) {
  // A negative delay means "now"; RetryInfo has no use for it.
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const std::int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
  out->set_seconds(seconds);
  out->set_nanos(static_cast<std::int32_t>(absl::ToInt64Nanoseconds(d)));
}

}  // namespace

grpc::Status ToGrpcStatus(const CallOutcome& outcome) {
  if (outcome.ok()) return grpc::Status::OK;

  google::rpc::Status status;
  // absl::StatusCode and grpc::StatusCode share the canonical numbering.
  status.set_code(static_cast<int>(outcome.code));
  status.set_message(outcome.message);

  google::rpc::ErrorInfo info;
  info.set_reason(outcome.reason.empty() ? std::string("UNSPECIFIED") : outcome.reason);
  info.set_domain(outcome.domain.empty() ? std::string(kGatewayDomain) : outcome.domain);
  auto& metadata = *info.mutable_metadata();
  if (!outcome.alibaba_code.empty()) metadata["alibaba_code"] = outcome.alibaba_code;
  if (!outcome.request_id.empty()) metadata["alibaba_request_id"] = outcome.request_id;
  if (outcome.http_status != 0) metadata["http_status"] = absl::StrCat(outcome.http_status);
  status.add_details()->PackFrom(info);

  if (outcome.retry_after.has_value()) {
    google::rpc::RetryInfo retry;
    SetDuration(*outcome.retry_after, retry.mutable_retry_delay());
    status.add_details()->PackFrom(retry);
  }

  if (!outcome.field_violations.empty()) {
    google::rpc::BadRequest bad_request;
    for (const auto& [field, description] : outcome.field_violations) {
      auto* violation = bad_request.add_field_violations();
      violation->set_field(field);
      violation->set_description(description);
    }
    status.add_details()->PackFrom(bad_request);
  }

  return grpc::Status(static_cast<grpc::StatusCode>(outcome.code), outcome.message,
                      status.SerializeAsString());
}

}  // namespace ota
