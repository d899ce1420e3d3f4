#include "client/cancel_report.h"

#include <gtest/gtest.h>

namespace ota::client {
namespace {

CancelResult Failed(grpc::StatusCode code) {
  CancelResult result;
  result.error = CallError{.code = code, .message = "m"};
  return result;
}

TEST(ExitCodeForTest, OneCodePerCategory) {
  EXPECT_EQ(ExitCodeFor(CancelResult{.request_id = "r"}), 0);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::INVALID_ARGUMENT)), 3);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::NOT_FOUND)), 4);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::FAILED_PRECONDITION)), 5);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::RESOURCE_EXHAUSTED)), 6);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::UNAVAILABLE)), 7);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::DEADLINE_EXCEEDED)), 7);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::PERMISSION_DENIED)), 1);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::INTERNAL)), 1);
  EXPECT_EQ(ExitCodeFor(Failed(grpc::StatusCode::UNKNOWN)), 1);
}

TEST(CancelResultToJsonTest, Success) {
  EXPECT_EQ(CancelResultToJson(CancelResult{.request_id = "RID-1"}),
            nlohmann::json::parse(R"({"ok":true,"request_id":"RID-1","outcome":"cancelled"})"));
  EXPECT_EQ(
      CancelResultToJson(CancelResult{.request_id = "RID-2",
                                      .outcome = ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED}),
      nlohmann::json::parse(R"({"ok":true,"request_id":"RID-2","outcome":"already_cancelled"})"));
}

TEST(CancelResultToJsonTest, FailureWithEveryDetail) {
  CancelResult result;
  result.error = CallError{.code = grpc::StatusCode::RESOURCE_EXHAUSTED,
                           .message = "busy",
                           .reason = "THROTTLED",
                           .domain = "iot.aliyuncs.com",
                           .alibaba_code = "Throttling",
                           .alibaba_request_id = "RID-2",
                           .http_status = 429,
                           .retry_delay = absl::Milliseconds(1500),
                           .field_violations = {{"job_id", "bad"}}};
  EXPECT_EQ(CancelResultToJson(result), nlohmann::json::parse(R"({
    "ok": false, "code": "RESOURCE_EXHAUSTED", "grpc_code": 8, "message": "busy",
    "reason": "THROTTLED", "domain": "iot.aliyuncs.com", "alibaba_code": "Throttling",
    "alibaba_request_id": "RID-2", "http_status": 429, "retry_delay_seconds": 1.5,
    "field_violations": [{"field": "job_id", "description": "bad"}]})"));
}

TEST(CancelResultToJsonTest, AbsentDetailsAreNull) {
  EXPECT_EQ(CancelResultToJson(Failed(grpc::StatusCode::DEADLINE_EXCEEDED)),
            nlohmann::json::parse(R"({
    "ok": false, "code": "DEADLINE_EXCEEDED", "grpc_code": 4, "message": "m", "reason": null,
    "domain": null, "alibaba_code": null, "alibaba_request_id": null, "http_status": null,
    "retry_delay_seconds": null, "field_violations": []})"));
}

}  // namespace
}  // namespace ota::client
