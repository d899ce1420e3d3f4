#include "server/call/error_mapping.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/attempt_stage.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

UpstreamReply Failure(std::string code, int http_status = 200, std::string message = "msg",
                      std::string request_id = "REQ-1") {
  UpstreamReply reply;
  reply.http_status = http_status;
  reply.parsed = true;
  reply.success = false;
  reply.request_id = std::move(request_id);
  reply.code = std::move(code);
  reply.message = std::move(message);
  return reply;
}

struct Expected {
  std::string alibaba_code;
  int http_status;
  absl::StatusCode code;
  std::string reason;
  bool retryable;
  std::string message_part;  // a phrase the caller-facing message must contain
};

void PrintTo(const Expected& e, std::ostream* os) { *os << e.alibaba_code; }

class KnownCodeTest : public ::testing::TestWithParam<Expected> {};

TEST_P(KnownCodeTest, MapsExactly) {
  const Expected& e = GetParam();
  const CallOutcome outcome = ErrorMapper().FromReply(
      Failure(e.alibaba_code, e.http_status, "Alibaba's own words.", "REQ-9"));
  EXPECT_EQ(outcome.code, e.code);
  EXPECT_EQ(outcome.reason, e.reason);
  EXPECT_EQ(outcome.retryable, e.retryable);
  EXPECT_EQ(outcome.domain, kAlibabaDomain);
  EXPECT_EQ(outcome.alibaba_code, e.alibaba_code);
  EXPECT_EQ(outcome.request_id, "REQ-9");
  EXPECT_EQ(outcome.http_status, e.http_status);
  EXPECT_THAT(outcome.message,
              AllOf(HasSubstr(e.message_part), HasSubstr("(" + e.alibaba_code + ")"),
                    HasSubstr("\"Alibaba's own words.\""), HasSubstr("RequestId REQ-9")));
  EXPECT_EQ(outcome.retry_after.has_value(), e.code == absl::StatusCode::kResourceExhausted);
}

TEST_P(KnownCodeTest, IgnoresCase) {
  const Expected& e = GetParam();
  std::string upper = e.alibaba_code;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string lower = e.alibaba_code;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const std::string& variant : {upper, lower}) {
    const CallOutcome outcome = ErrorMapper().FromReply(Failure(variant, e.http_status));
    EXPECT_EQ(outcome.code, e.code) << variant;
    EXPECT_EQ(outcome.reason, e.reason) << variant;
    EXPECT_EQ(outcome.alibaba_code, variant) << "the original spelling is kept";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, KnownCodeTest,
    ::testing::Values(
        Expected{"iot.ota.OtaJobNotExist", 200, absl::StatusCode::kNotFound, "JOB_NOT_FOUND", false,
                 "batch does not exist"},
        Expected{
            "iot.ota.OtaJobTypeNotSupported", 200, absl::StatusCode::kFailedPrecondition,
            "JOB_NOT_CANCELLABLE", false,
            "is static (iot.ota.OtaJobTypeNotSupported): there is no dynamic policy to cancel"},
        Expected{"iot.ota.OtaJobStatusNotSupported", 200, absl::StatusCode::kFailedPrecondition,
                 "JOB_NOT_CANCELLABLE", false,
                 "already finished or cancelled (iot.ota.OtaJobStatusNotSupported): there is no "
                 "update policy left"},
        Expected{"iot.system.InstanceNotFound", 200, absl::StatusCode::kNotFound,
                 "INSTANCE_NOT_FOUND", false, "check iot_instance_id"},
        Expected{"iot.Sre.IotInstanceNotFound", 200, absl::StatusCode::kNotFound,
                 "INSTANCE_NOT_FOUND", false, "check iot_instance_id"},
        Expected{"iot.system.IllegalRequest", 200, absl::StatusCode::kInvalidArgument,
                 "INVALID_REQUEST", false, "check job_id"},
        Expected{"MissingParameter", 400, absl::StatusCode::kInvalidArgument, "INVALID_REQUEST",
                 false, "parameter missing"},
        Expected{"iot.system.UidNotFound", 200, absl::StatusCode::kFailedPrecondition,
                 "IOT_NOT_ACTIVATED", false, "has not activated IoT Platform"},
        Expected{"Iot.system.BillIsOverDue", 200, absl::StatusCode::kFailedPrecondition,
                 "ACCOUNT_OVERDUE", false, "overdue bill"},
        Expected{"iot.system.SystemException", 200, absl::StatusCode::kUnavailable,
                 "UPSTREAM_UNAVAILABLE", true, "retry later"},
        Expected{"InternalError", 500, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", true,
                 "retry later"},
        Expected{"ServiceUnavailable", 503, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE",
                 true, "retry later"},
        Expected{"Throttling", 400, absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
                 "retry after the advertised delay"},
        Expected{"Throttling.User", 400, absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
                 "quota"},
        Expected{"Throttling.Api", 503, absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
                 "quota"},
        Expected{"InvalidAccessKeyId.NotFound", 404, absl::StatusCode::kInternal,
                 "UPSTREAM_AUTH_FAILED", false,
                 "the gateway's AccessKey was rejected by Alibaba (InvalidAccessKeyId.NotFound): "
                 "the gateway is misconfigured, not your request; its operator must check the "
                 "gateway's credentials"},
        Expected{"InvalidAccessKeyId.Inactive", 400, absl::StatusCode::kInternal,
                 "UPSTREAM_AUTH_FAILED", false, "AccessKey is disabled"},
        Expected{"SignatureDoesNotMatch", 400, absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED",
                 false, "signature"},
        Expected{"IncompleteSignature", 400, absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED",
                 false, "incomplete"},
        Expected{"SignatureNonceUsed", 400, absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED",
                 false, "SignatureNonce"},
        Expected{"InvalidTimeStamp.Expired", 400, absl::StatusCode::kInternal,
                 "UPSTREAM_CLOCK_SKEW", false, "more than 15 minutes"},
        Expected{"IllegalTimestamp", 400, absl::StatusCode::kInternal, "UPSTREAM_CLOCK_SKEW", false,
                 "clock"},
        Expected{"Forbidden.RAM", 403, absl::StatusCode::kPermissionDenied,
                 "UPSTREAM_PERMISSION_DENIED", false, "iot:CancelOTAStrategyByJob"}));

class CategoryTest : public ::testing::TestWithParam<Expected> {};

TEST_P(CategoryTest, UnknownCodeMapsByFamily) {
  const Expected& e = GetParam();
  const CallOutcome outcome = ErrorMapper().FromReply(Failure(e.alibaba_code, e.http_status));
  EXPECT_EQ(outcome.code, e.code);
  EXPECT_EQ(outcome.reason, e.reason);
  EXPECT_EQ(outcome.retryable, e.retryable);
  EXPECT_EQ(outcome.alibaba_code, e.alibaba_code);
  EXPECT_THAT(outcome.message, AllOf(HasSubstr(e.message_part), HasSubstr(e.alibaba_code)));
}

INSTANTIATE_TEST_SUITE_P(
    Families, CategoryTest,
    ::testing::Values(
        Expected{"iot.ota.JobNotFound", 200, absl::StatusCode::kNotFound, "JOB_NOT_FOUND", false,
                 "check job_id"},
        Expected{"iot.ota.OtaFirmwareNotExist", 200, absl::StatusCode::kNotFound,
                 "RESOURCE_NOT_FOUND", false, "does not exist"},
        Expected{"iot.instance.InstanceNotExist", 200, absl::StatusCode::kNotFound,
                 "INSTANCE_NOT_FOUND", false, "iot_instance_id"},
        Expected{"iot.ota.InvalidJobId", 200, absl::StatusCode::kInvalidArgument, "INVALID_REQUEST",
                 false, "check job_id"},
        Expected{"InvalidParameter", 400, absl::StatusCode::kInvalidArgument, "INVALID_REQUEST",
                 false, "parameters"},
        Expected{"iot.common.IllegalJobId", 200, absl::StatusCode::kInvalidArgument,
                 "INVALID_REQUEST", false, "parameters"},
        Expected{"MissingJobId", 400, absl::StatusCode::kInvalidArgument, "INVALID_REQUEST", false,
                 "parameters"},
        Expected{"Throttling.Tenant", 503, absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
                 true, "quota"},
        Expected{"iot.system.Throttling", 200, absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
                 true, "quota"},
        // Credentials and signature families win over "NotFound" and "Invalid".
        Expected{"InvalidAccessKeyId", 400, absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED",
                 false, "gateway's credentials"},
        Expected{"InvalidSecurityToken.Expired", 400, absl::StatusCode::kInternal,
                 "UPSTREAM_AUTH_FAILED", false, "gateway's credentials"},
        Expected{"InvalidTimeStamp.Format", 400, absl::StatusCode::kInternal, "UPSTREAM_CLOCK_SKEW",
                 false, "clock"},
        Expected{"Forbidden.AccessKeyDisabled", 403, absl::StatusCode::kPermissionDenied,
                 "UPSTREAM_PERMISSION_DENIED", false, "RAM user"},
        Expected{"Forbidden", 403, absl::StatusCode::kPermissionDenied,
                 "UPSTREAM_PERMISSION_DENIED", false, "not about your own permissions"},
        Expected{"iot.ota.SystemException", 200, absl::StatusCode::kUnavailable,
                 "UPSTREAM_UNAVAILABLE", true, "retry later"},
        Expected{"ServiceUnavailable.Busy", 503, absl::StatusCode::kUnavailable,
                 "UPSTREAM_UNAVAILABLE", true, "retry later"},
        // No family: decided by HTTP status.
        Expected{"iot.ota.OtaJobAlreadyRunning", 200, absl::StatusCode::kFailedPrecondition,
                 "UPSTREAM_REJECTED", false, "do not retry it unchanged"},
        Expected{"SomethingOdd", 409, absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED",
                 false, "do not retry it unchanged"},
        Expected{"SomethingOdd", 502, absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", true,
                 "retry later"},
        Expected{"SomethingOdd", 429, absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
                 "quota"}));

TEST(ErrorMapperTest, SuccessIsOk) {
  UpstreamReply reply;
  reply.http_status = 200;
  reply.parsed = true;
  reply.success = true;
  reply.request_id = "OK-1";
  const CallOutcome outcome = ErrorMapper().FromReply(reply);
  EXPECT_THAT(outcome, IsOk());
  EXPECT_EQ(outcome.request_id, "OK-1");
  EXPECT_EQ(outcome.reason, "");
  EXPECT_EQ(outcome.message, "");
  EXPECT_FALSE(outcome.retryable);
}

TEST(ErrorMapperTest, ThrottlingAdvertisesAlibabasDelayOrOneSecond) {
  UpstreamReply reply =
      Failure("Throttling.User", 400, "Request was denied due to user flow control.");
  EXPECT_EQ(ErrorMapper().FromReply(reply).retry_after, absl::Seconds(1));
  reply.retry_after = absl::Milliseconds(2500);
  EXPECT_EQ(ErrorMapper().FromReply(reply).retry_after, absl::Milliseconds(2500));
}

TEST(ErrorMapperTest, RetryAfterOnlyForRetryableOutcomes) {
  UpstreamReply unavailable = Failure("ServiceUnavailable", 503);
  EXPECT_FALSE(ErrorMapper().FromReply(unavailable).retry_after.has_value());
  unavailable.retry_after = absl::Milliseconds(800);
  EXPECT_EQ(ErrorMapper().FromReply(unavailable).retry_after, absl::Milliseconds(800));

  UpstreamReply not_found = Failure("iot.ota.OtaJobNotExist");
  not_found.retry_after = absl::Milliseconds(800);
  EXPECT_FALSE(ErrorMapper().FromReply(not_found).retry_after.has_value());
}

TEST(ErrorMapperTest, StringToSignIsCutFromSignatureMessages) {
  const std::string v1 =
      "Specified signature is not matched with our calculation. server string to sign "
      "is:POST&%2F&AccessKeyId%3DLTAI5tExampleKeyId%26Action%3DCancelOTAStrategyByJob";
  const std::string v3 =
      "The request signature does not conform to Aliyun standards. StringToSign is "
      "ACS3-HMAC-SHA256\nabcdef LTAI5tExampleKeyId";
  for (const std::string& message : {v1, v3}) {
    const CallOutcome outcome =
        ErrorMapper().FromReply(Failure("SignatureDoesNotMatch", 400, message));
    EXPECT_THAT(outcome.message, Not(HasSubstr("LTAI5tExampleKeyId")));
    EXPECT_THAT(outcome.message, Not(HasSubstr("CancelOTAStrategyByJob%")));
    EXPECT_THAT(outcome.message, Not(HasSubstr("ACS3-HMAC-SHA256")));
    EXPECT_THAT(outcome.message, HasSubstr("SignatureDoesNotMatch"));
  }
  EXPECT_THAT(ErrorMapper().FromReply(Failure("SignatureDoesNotMatch", 400, v1)).message,
              HasSubstr("\"Specified signature is not matched with our calculation.\""));
}

TEST(ErrorMapperTest, AlibabaMessagesAreKeptOnOneBoundedLine) {
  const CallOutcome multi_line =
      ErrorMapper().FromReply(Failure("iot.system.IllegalRequest", 200, "line one\nline two\r\t"));
  EXPECT_THAT(multi_line.message, HasSubstr("\"line one line two\""));
  EXPECT_THAT(multi_line.message, Not(HasSubstr("\n")));

  std::string huge = "x";  // puts the 400th byte in the middle of a character
  for (int i = 0; i < 1000; ++i) huge += "\xC3\xA9";  // "é", two bytes each
  const CallOutcome bounded = ErrorMapper().FromReply(Failure("Whatever", 400, huge));
  EXPECT_LT(bounded.message.size(), 700u);
  EXPECT_THAT(bounded.message, HasSubstr("\xC3\xA9...\""));  // cut between characters
}

// Found by fuzz/upstream_reply_fuzzer: the Code and RequestId went into the message as they came,
// so a DEL or newline in them (JSON escapes allow any) broke the one-line guarantee.
TEST(ErrorMapperTest, CodeAndRequestIdAreShownOnOneBoundedLine) {
  const CallOutcome control =
      ErrorMapper().FromReply(Failure("iot.\x7Fota.Odd\nCode", 400, "m", "REQ\r\n-1"));
  EXPECT_THAT(control.message, HasSubstr("(iot. ota.Odd Code)"));
  EXPECT_THAT(control.message, HasSubstr("RequestId REQ  -1]"));
  EXPECT_EQ(control.alibaba_code, "iot.\x7Fota.Odd\nCode");  // details keep the original
  EXPECT_EQ(control.request_id, "REQ\r\n-1");

  std::string long_code = "Throttling.";
  for (int i = 0; i < 500; ++i) long_code += "\xC3\xA9";  // "é": the cut falls inside one
  const CallOutcome bounded =
      ErrorMapper().FromReply(Failure(long_code, 400, "m", std::string(5000, 'r')));
  EXPECT_EQ(bounded.code, absl::StatusCode::kResourceExhausted);  // mapped on the whole code
  EXPECT_LT(bounded.message.size(), 800u);
  EXPECT_THAT(bounded.message, HasSubstr("\xC3\xA9...)"));
  EXPECT_THAT(bounded.message, HasSubstr("rrr...]"));
}

TEST(ErrorMapperTest, MessageWithoutAlibabaTextOrRequestId) {
  const CallOutcome outcome =
      ErrorMapper().FromReply(Failure("iot.ota.OtaJobNotExist", 200, "", ""));
  EXPECT_THAT(outcome.message, Not(HasSubstr("[Alibaba")));
  EXPECT_THAT(outcome.message, HasSubstr("(iot.ota.OtaJobNotExist)"));
}

TEST(ErrorMapperTest, InvalidArgumentNamesTheFieldAlibabaComplainsAbout) {
  const CallOutcome job = ErrorMapper().FromReply(
      Failure("iot.system.IllegalRequest", 200, "The JobId format is invalid."));
  EXPECT_THAT(job.field_violations,
              UnorderedElementsAre(Pair("job_id", "The JobId format is invalid.")));
  const CallOutcome instance =
      ErrorMapper().FromReply(Failure("InvalidParameter", 400, "IotInstanceId is illegal"));
  EXPECT_THAT(instance.field_violations,
              UnorderedElementsAre(Pair("iot_instance_id", "IotInstanceId is illegal")));
  const CallOutcome neither =
      ErrorMapper().FromReply(Failure("iot.system.IllegalRequest", 200, "The request is illegal."));
  EXPECT_THAT(neither.field_violations, IsEmpty());
  // Only INVALID_ARGUMENT carries field violations.
  const CallOutcome not_found =
      ErrorMapper().FromReply(Failure("iot.ota.OtaJobNotExist", 200, "JobId does not exist"));
  EXPECT_THAT(not_found.field_violations, IsEmpty());
}

TEST(ErrorMapperTest, NonJsonBodyFromServerErrorIsUnavailable) {
  UpstreamReply reply;
  reply.http_status = 502;
  reply.parsed = false;
  reply.retry_after = absl::Milliseconds(300);
  const CallOutcome outcome = ErrorMapper().FromReply(reply);
  EXPECT_EQ(outcome.code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(outcome.reason, "UPSTREAM_BAD_RESPONSE");
  EXPECT_EQ(outcome.domain, kGatewayDomain);
  EXPECT_TRUE(outcome.retryable);
  EXPECT_EQ(outcome.http_status, 502);
  EXPECT_EQ(outcome.retry_after, absl::Milliseconds(300));
  EXPECT_THAT(outcome.message, AllOf(HasSubstr("HTTP 502"), HasSubstr("not JSON")));
}

TEST(ErrorMapperTest, NonJsonBodyFromOtherStatusIsInternal) {
  for (int status : {200, 302, 400, 404}) {
    UpstreamReply reply;
    reply.http_status = status;
    const CallOutcome outcome = ErrorMapper().FromReply(reply);
    EXPECT_EQ(outcome.code, absl::StatusCode::kInternal) << status;
    EXPECT_EQ(outcome.reason, "UPSTREAM_BAD_RESPONSE") << status;
    EXPECT_FALSE(outcome.retryable) << status;
    EXPECT_EQ(outcome.http_status, status);
    EXPECT_THAT(outcome.message, HasSubstr("HTTP " + std::to_string(status)));
    EXPECT_THAT(outcome.message, HasSubstr("endpoint setting"));
  }
}

TEST(ErrorMapperTest, JsonWithoutSuccessOrCodeIsABadResponse) {
  UpstreamReply reply;
  reply.http_status = 200;
  reply.parsed = true;
  reply.request_id = "R-odd";
  const CallOutcome outcome = ErrorMapper().FromReply(reply);
  EXPECT_EQ(outcome.code, absl::StatusCode::kInternal);
  EXPECT_EQ(outcome.reason, "UPSTREAM_BAD_RESPONSE");
  EXPECT_EQ(outcome.request_id, "R-odd");
  EXPECT_THAT(outcome.message, HasSubstr("neither Success=true nor a Code"));
}

TEST(ErrorMapperOverridesTest, OverrideWinsAndKeepsOriginalCode) {
  const absl::StatusOr<ErrorMapper> mapper = ErrorMapper::WithOverrides(
      "# OTA codes seen in production\n"
      "\n"
      "iot.ota.JobIsRunning = FAILED_PRECONDITION   # trailing comment\n"
      "iot.system.SystemException=INTERNAL\r\n"
      "iot.ota.OtaJobNotExist=not_found\n"
      "Custom.Quota=RESOURCE_EXHAUSTED\n");
  ASSERT_THAT(mapper, IsOk());

  const CallOutcome running = mapper->FromReply(Failure("iot.ota.JobIsRunning"));
  EXPECT_EQ(running.code, absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(running.alibaba_code, "iot.ota.JobIsRunning");

  // Overrides beat the built-in table and also match ignoring case.
  const CallOutcome system = mapper->FromReply(Failure("IOT.SYSTEM.SYSTEMEXCEPTION"));
  EXPECT_EQ(system.code, absl::StatusCode::kInternal);
  EXPECT_FALSE(system.retryable);
  EXPECT_EQ(system.reason, "UPSTREAM_ERROR");

  // An override that agrees with the table keeps the table's reason and wording.
  const CallOutcome not_found = mapper->FromReply(Failure("iot.ota.OtaJobNotExist"));
  EXPECT_EQ(not_found.reason, "JOB_NOT_FOUND");
  EXPECT_THAT(not_found.message, HasSubstr("batch does not exist"));

  const CallOutcome quota = mapper->FromReply(Failure("Custom.Quota"));
  EXPECT_EQ(quota.code, absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(quota.retryable);
  EXPECT_EQ(quota.retry_after, absl::Seconds(1));

  // Codes that are not overridden behave as before.
  EXPECT_EQ(mapper->FromReply(Failure("Throttling.User")).code,
            absl::StatusCode::kResourceExhausted);
}

TEST(ErrorMapperOverridesTest, EmptyTextIsTheBuiltInTable) {
  const absl::StatusOr<ErrorMapper> mapper = ErrorMapper::WithOverrides("\n# nothing\n  \n");
  ASSERT_THAT(mapper, IsOk());
  EXPECT_EQ(mapper->FromReply(Failure("iot.ota.OtaJobNotExist")).code, absl::StatusCode::kNotFound);
}

TEST(ErrorMapperOverridesTest, BadLinesAreNamed) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"a=NOT_FOUND\nno equals sign\n", "line 2: expected \"AlibabaCode=GRPC_CODE\""},
      {"=NOT_FOUND", "line 1: expected"},
      {"iot.x=", "line 1: expected"},
      {"iot.x=NOTFOUND", "line 1: unknown gRPC code \"NOTFOUND\""},
      {"iot.x=OK", "cannot map to OK"},
      {"iot x=NOT_FOUND", "contains a space"},
      {"# c\niot.x=NOT_FOUND\nIOT.X=INTERNAL", "line 3: \"IOT.X\" is already mapped on line 2"},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<ErrorMapper> mapper = ErrorMapper::WithOverrides(c.text);
    ASSERT_THAT(mapper, Not(IsOk())) << c.text;
    EXPECT_EQ(mapper.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(mapper.status().message()), HasSubstr(c.message)) << c.text;
  }
}

TEST(ErrorMapperTransportTest, DeadlineBeforeSendingSaysNothingWasApplied) {
  const CallOutcome outcome = ErrorMapper().FromTransportError(WithAttemptStage(
      absl::DeadlineExceededError("Operation timed out after 3000 ms"), AttemptStage::kNeverSent));
  EXPECT_EQ(outcome.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(outcome.reason, "UPSTREAM_TIMEOUT");
  EXPECT_EQ(outcome.domain, kGatewayDomain);
  EXPECT_FALSE(outcome.retryable);
  EXPECT_EQ(outcome.http_status, 0);
  EXPECT_THAT(outcome.message, AllOf(HasSubstr("3000 ms"), HasSubstr("nothing was applied")));
}

TEST(ErrorMapperTransportTest, NeverSentFailuresAreRetryableUnreachable) {
  for (const absl::Status& status :
       {absl::UnavailableError("Could not resolve host: iot.cn-shanghai.aliyuncs.com"),
        absl::UnavailableError("Connection refused"), absl::InternalError("curl_multi failure")}) {
    const CallOutcome outcome =
        ErrorMapper().FromTransportError(WithAttemptStage(status, AttemptStage::kNeverSent));
    EXPECT_EQ(outcome.code, absl::StatusCode::kUnavailable) << status;
    EXPECT_EQ(outcome.reason, "UPSTREAM_UNREACHABLE");
    EXPECT_TRUE(outcome.retryable);
    EXPECT_THAT(outcome.message, HasSubstr(std::string(status.message())));
    EXPECT_THAT(outcome.message, HasSubstr("never sent"));
  }
}

TEST(ErrorMapperTransportTest, FailuresAfterSendingNeverSayCouldNotReach) {
  for (const absl::Status& status :
       {absl::UnavailableError("Connection reset by peer"),
        absl::DeadlineExceededError("deadline exceeded after 900ms waiting for the upstream"),
        absl::UnavailableError("upstream timed out after 1000ms")}) {
    const CallOutcome outcome = ErrorMapper().FromTransportError(
        WithAttemptStage(status, AttemptStage::kSentWithoutAnswer));
    EXPECT_EQ(outcome.code, absl::StatusCode::kUnavailable) << status;
    EXPECT_EQ(outcome.reason, "UPSTREAM_UNAVAILABLE");
    EXPECT_TRUE(outcome.retryable) << "sending a cancel again is safe";
    EXPECT_THAT(outcome.message, HasSubstr("was sent to Alibaba"));
    EXPECT_THAT(outcome.message, Not(HasSubstr("could not reach")));
  }
}

TEST(ErrorMapperTransportTest, CancelledAndOkAreNotRetried) {
  const CallOutcome cancelled = ErrorMapper().FromTransportError(absl::CancelledError("shutdown"));
  EXPECT_EQ(cancelled.code, absl::StatusCode::kCancelled);
  EXPECT_FALSE(cancelled.retryable);
  const CallOutcome bogus = ErrorMapper().FromTransportError(absl::OkStatus());
  EXPECT_EQ(bogus.code, absl::StatusCode::kInternal);
  EXPECT_THAT(bogus, Not(IsOk()));
}

TEST(ErrorMapperTransportTest, QueryStringsNeverReachTheMessage) {
  const absl::Status status = absl::UnavailableError(
      "SSL connect error for https://iot.cn-shanghai.aliyuncs.com/?AccessKeyId=LTAI5tExample"
      "&Signature=abc%2Bdef&SecurityToken=CAIStoken (\"POST /?Action=Cancel&Nonce=1\"), "
      "raw AccessKeyId=LTAI5tExample");
  const CallOutcome outcome = ErrorMapper().FromTransportError(status);
  EXPECT_THAT(outcome.message, AllOf(Not(HasSubstr("LTAI5tExample")), Not(HasSubstr("abc%2Bdef")),
                                     Not(HasSubstr("CAIStoken")), Not(HasSubstr("Nonce=1"))));
  EXPECT_THAT(outcome.message, HasSubstr("https://iot.cn-shanghai.aliyuncs.com/?<query omitted>"));
  EXPECT_THAT(outcome.message, HasSubstr("SSL connect error"));
  // A question mark in prose is left alone.
  const CallOutcome prose =
      ErrorMapper().FromTransportError(absl::UnavailableError("peer closed? retrying"));
  EXPECT_THAT(prose.message, HasSubstr("peer closed? retrying"));
}

}  // namespace
}  // namespace ota
