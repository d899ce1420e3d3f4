#include "server/api/grpc_status.h"

#include <grpcpp/support/error_details.h>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "server/call/error_mapping.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// The details as a client decodes them from the grpc-status-details-bin trailer.
struct Decoded {
  google::rpc::Status status;
  std::optional<google::rpc::ErrorInfo> error_info;
  std::optional<google::rpc::RetryInfo> retry_info;
  std::optional<google::rpc::BadRequest> bad_request;
  int unknown_details = 0;
};

Decoded Decode(const grpc::Status& status) {
  Decoded decoded;
  EXPECT_THAT(grpc::ExtractErrorDetails(status, &decoded.status), IsOk());
  for (const google::protobuf::Any& any : decoded.status.details()) {
    if (any.Is<google::rpc::ErrorInfo>()) {
      EXPECT_FALSE(decoded.error_info.has_value()) << "two ErrorInfo";
      any.UnpackTo(&decoded.error_info.emplace());
    } else if (any.Is<google::rpc::RetryInfo>()) {
      EXPECT_FALSE(decoded.retry_info.has_value()) << "two RetryInfo";
      any.UnpackTo(&decoded.retry_info.emplace());
    } else if (any.Is<google::rpc::BadRequest>()) {
      EXPECT_FALSE(decoded.bad_request.has_value()) << "two BadRequest";
      any.UnpackTo(&decoded.bad_request.emplace());
    } else {
      ++decoded.unknown_details;
    }
  }
  return decoded;
}

TEST(ToGrpcStatusTest, SuccessIsPlainOk) {
  CallOutcome outcome;
  outcome.request_id = "R1";
  const grpc::Status status = ToGrpcStatus(outcome);
  EXPECT_THAT(status, IsOk());
  EXPECT_EQ(status.error_message(), "");
  EXPECT_EQ(status.error_details(), "");
}

TEST(ToGrpcStatusTest, ThrottlingCarriesErrorInfoAndRetryInfo) {
  CallOutcome outcome;
  outcome.code = absl::StatusCode::kResourceExhausted;
  outcome.message = "Alibaba throttled the call";
  outcome.reason = "RATE_LIMITED";
  outcome.domain = kAlibabaDomain;
  outcome.request_id = "REQ-42";
  outcome.alibaba_code = "Throttling.User";
  outcome.http_status = 400;
  outcome.retryable = true;
  outcome.retry_after = absl::Milliseconds(1500);

  const grpc::Status status = ToGrpcStatus(outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(), "Alibaba throttled the call");

  const Decoded d = Decode(status);
  EXPECT_EQ(d.status.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_EQ(d.status.message(), "Alibaba throttled the call");
  ASSERT_TRUE(d.error_info.has_value());
  EXPECT_EQ(d.error_info->reason(), "RATE_LIMITED");
  EXPECT_EQ(d.error_info->domain(), "iot.aliyuncs.com");
  EXPECT_THAT(
      d.error_info->metadata(),
      UnorderedElementsAre(Pair("alibaba_code", "Throttling.User"),
                           Pair("alibaba_request_id", "REQ-42"), Pair("http_status", "400")));
  ASSERT_TRUE(d.retry_info.has_value());
  EXPECT_EQ(d.retry_info->retry_delay().seconds(), 1);
  EXPECT_EQ(d.retry_info->retry_delay().nanos(), 500000000);
  EXPECT_FALSE(d.bad_request.has_value());
  EXPECT_EQ(d.unknown_details, 0);
}

TEST(ToGrpcStatusTest, GatewayErrorWithoutUpstreamFactsHasEmptyMetadata) {
  CallOutcome outcome;
  outcome.code = absl::StatusCode::kUnavailable;
  outcome.message = "could not reach Alibaba's endpoint";
  outcome.reason = "UPSTREAM_UNREACHABLE";
  outcome.domain = kGatewayDomain;
  outcome.retryable = true;

  const Decoded d = Decode(ToGrpcStatus(outcome));
  ASSERT_TRUE(d.error_info.has_value());
  EXPECT_EQ(d.error_info->reason(), "UPSTREAM_UNREACHABLE");
  EXPECT_EQ(d.error_info->domain(), "ota-gateway");
  EXPECT_THAT(d.error_info->metadata(), IsEmpty());
  EXPECT_FALSE(d.retry_info.has_value());  // no delay was advertised
  EXPECT_FALSE(d.bad_request.has_value());
}

TEST(ToGrpcStatusTest, FieldViolationsBecomeBadRequest) {
  CallOutcome outcome;
  outcome.code = absl::StatusCode::kInvalidArgument;
  outcome.message = "job_id is required";
  outcome.reason = "INVALID_REQUEST";
  outcome.domain = kGatewayDomain;
  outcome.field_violations = {{"job_id", "must not be empty"}, {"iot_instance_id", "too long"}};

  const grpc::Status status = ToGrpcStatus(outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const Decoded d = Decode(status);
  ASSERT_TRUE(d.bad_request.has_value());
  ASSERT_EQ(d.bad_request->field_violations_size(), 2);
  // std::map order: iot_instance_id before job_id.
  EXPECT_EQ(d.bad_request->field_violations(0).field(), "iot_instance_id");
  EXPECT_EQ(d.bad_request->field_violations(0).description(), "too long");
  EXPECT_EQ(d.bad_request->field_violations(1).field(), "job_id");
  EXPECT_EQ(d.bad_request->field_violations(1).description(), "must not be empty");
}

TEST(ToGrpcStatusTest, MissingReasonAndDomainGetDefaults) {
  CallOutcome outcome;
  outcome.code = absl::StatusCode::kInternal;
  outcome.message = "x";
  const Decoded d = Decode(ToGrpcStatus(outcome));
  ASSERT_TRUE(d.error_info.has_value());
  EXPECT_EQ(d.error_info->reason(), "UNSPECIFIED");
  EXPECT_EQ(d.error_info->domain(), "ota-gateway");
}

TEST(ToGrpcStatusTest, RetryDelayIsNeverNegative) {
  CallOutcome outcome;
  outcome.code = absl::StatusCode::kResourceExhausted;
  outcome.reason = "RATE_LIMITED";
  outcome.retry_after = absl::Milliseconds(-20);
  const Decoded d = Decode(ToGrpcStatus(outcome));
  ASSERT_TRUE(d.retry_info.has_value());
  EXPECT_EQ(d.retry_info->retry_delay().seconds(), 0);
  EXPECT_EQ(d.retry_info->retry_delay().nanos(), 0);

  outcome.retry_after = absl::Seconds(60);
  const Decoded whole = Decode(ToGrpcStatus(outcome));
  ASSERT_TRUE(whole.retry_info.has_value());
  EXPECT_EQ(whole.retry_info->retry_delay().seconds(), 60);
  EXPECT_EQ(whole.retry_info->retry_delay().nanos(), 0);
}

TEST(ToGrpcStatusTest, EveryCodeKeepsItsNumber) {
  for (int i = 1; i <= 16; ++i) {
    CallOutcome outcome;
    outcome.code = static_cast<absl::StatusCode>(i);
    outcome.reason = "R";
    const grpc::Status status = ToGrpcStatus(outcome);
    EXPECT_EQ(static_cast<int>(status.error_code()), i);
    EXPECT_EQ(Decode(status).status.code(), i);
  }
}

// The path a real failure takes: Alibaba's answer -> parser -> mapper -> gRPC status.
TEST(ToGrpcStatusTest, AlibabaAnswerEndToEnd) {
  HttpResponse response;
  response.status = 200;
  response.body = R"({"RequestId":"E2E-1","Success":false,"Code":"iot.ota.OtaJobNotExist",)"
                  R"("ErrorMessage":"The job does not exist."})";
  const grpc::Status status = ToGrpcStatus(ErrorMapper().FromReply(ParseUpstreamReply(response)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  const Decoded d = Decode(status);
  ASSERT_TRUE(d.error_info.has_value());
  EXPECT_EQ(d.error_info->reason(), "JOB_NOT_FOUND");
  EXPECT_THAT(
      d.error_info->metadata(),
      UnorderedElementsAre(Pair("alibaba_code", "iot.ota.OtaJobNotExist"),
                           Pair("alibaba_request_id", "E2E-1"), Pair("http_status", "200")));
  EXPECT_FALSE(d.retry_info.has_value());
}

}  // namespace
}  // namespace ota
