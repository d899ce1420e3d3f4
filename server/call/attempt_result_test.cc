#include "server/call/attempt_result.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/http/attempt_stage.h"
#include "server/testing/fake_credentials_http_client.h"

namespace ota {
namespace {

using ::ota::testing::Reply;

class AttemptResultTest : public ::testing::Test {
 protected:
  AttemptResult Classify(const absl::StatusOr<HttpResponse>& response) {
    return ClassifyAttempt(response, errors_);
  }
  ErrorMapper errors_;
};

TEST_F(AttemptResultTest, NeverSentFailuresSayNothingLeft) {
  for (const absl::Status& status :
       {WithAttemptStage(absl::UnavailableError("Could not resolve host"),
                         AttemptStage::kNeverSent),
        WithAttemptStage(absl::UnavailableError("Connection refused"), AttemptStage::kNeverSent),
        WithAttemptStage(absl::UnavailableError("SSL certificate problem"),
                         AttemptStage::kNeverSent)}) {
    const AttemptResult result = Classify(status);
    EXPECT_EQ(result.kind, AttemptKind::kNeverSent) << status;
    EXPECT_EQ(result.outcome.reason, "UPSTREAM_UNREACHABLE");
    EXPECT_TRUE(result.outcome.retryable);
    EXPECT_NE(result.outcome.message.find("could not reach"), std::string::npos);
    EXPECT_NE(result.outcome.message.find("never sent"), std::string::npos);
  }
  const AttemptResult paced = Classify(
      WithAttemptStage(absl::DeadlineExceededError(
                           "deadline passed while waiting for the upstream departure window"),
                       AttemptStage::kNeverSent));
  EXPECT_EQ(paced.kind, AttemptKind::kNeverSent);
  EXPECT_EQ(paced.outcome.code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(paced.outcome.message.find("nothing was applied"), std::string::npos);
}

TEST_F(AttemptResultTest, SentWithoutAnswerNeverSaysCouldNotReach) {
  for (const absl::Status& status :
       {WithAttemptStage(absl::UnavailableError("Connection reset by peer"),
                         AttemptStage::kSentWithoutAnswer),
        WithAttemptStage(absl::UnavailableError("upstream timed out after 1000ms"),
                         AttemptStage::kSentWithoutAnswer),
        WithAttemptStage(absl::DeadlineExceededError("deadline exceeded after 900ms"),
                         AttemptStage::kSentWithoutAnswer),
        // A failure that does not say how far it got is taken as sent: the safe assumption.
        absl::UnavailableError("no stage given")}) {
    const AttemptResult result = Classify(status);
    EXPECT_EQ(result.kind, AttemptKind::kSentWithoutAnswer) << status;
    EXPECT_EQ(result.outcome.code, absl::StatusCode::kUnavailable) << status;
    EXPECT_TRUE(result.outcome.retryable) << status;
    EXPECT_EQ(result.outcome.message.find("could not reach"), std::string::npos)
        << result.outcome.message;
    EXPECT_NE(result.outcome.message.find("was sent"), std::string::npos);
  }
}

TEST_F(AttemptResultTest, AnUnreadable2xxBodyIsSentWithoutAnswerAndRetryable) {
  for (const std::string& body :
       {std::string("<html>proxy</html>"), std::string(R"({"RequestId":"R1","Succ)"),
        std::string(R"({"RequestId":"R1"})")}) {
    const AttemptResult result = Classify(Reply(200, body));
    EXPECT_EQ(result.kind, AttemptKind::kSentWithoutAnswer) << body;
    EXPECT_TRUE(result.outcome.retryable) << body;
    EXPECT_EQ(result.outcome.reason, "UPSTREAM_BAD_RESPONSE");
  }
}

TEST_F(AttemptResultTest, AlibabasOwnAnswersAreAnswered) {
  const AttemptResult ok = Classify(Reply(200, R"({"RequestId":"R1","Success":true})"));
  EXPECT_EQ(ok.kind, AttemptKind::kAnswered);
  EXPECT_TRUE(ok.outcome.ok());
  const AttemptResult throttled =
      Classify(Reply(400, R"({"RequestId":"R2","Code":"Throttling.User","Message":"x"})"));
  EXPECT_EQ(throttled.kind, AttemptKind::kAnswered);
  EXPECT_FALSE(IsBusinessRefusal(throttled));
  const AttemptResult html_502 = Classify(Reply(502, "<html>bad gateway</html>"));
  EXPECT_EQ(html_502.kind, AttemptKind::kAnswered) << "a 5xx says it failed";
}

TEST_F(AttemptResultTest, BusinessRefusalsAreTheUndocumentedOtaOnes) {
  for (const char* code : {"iot.ota.OtaJobNotExist", "iot.ota.OtaJobStatusNotSupported",
                           "iot.ota.OtaJobTypeNotSupported", "iot.ota.SomethingNew"}) {
    const AttemptResult result =
        Classify(Reply(200, absl::StrCat(R"({"RequestId":"R","Success":false,"Code":")", code,
                                         R"(","ErrorMessage":"m"})")));
    EXPECT_TRUE(IsBusinessRefusal(result)) << code;
  }
  for (const char* code : {"iot.system.InstanceNotFound", "iot.system.IllegalRequest",
                           "iot.system.UidNotFound", "iot.system.SystemException"}) {
    const AttemptResult result =
        Classify(Reply(200, absl::StrCat(R"({"RequestId":"R","Success":false,"Code":")", code,
                                         R"(","ErrorMessage":"m"})")));
    EXPECT_FALSE(IsBusinessRefusal(result)) << code;
  }
  const AttemptResult signature =
      Classify(Reply(400, R"({"RequestId":"R","Code":"SignatureDoesNotMatch","Message":"m"})"));
  EXPECT_FALSE(IsBusinessRefusal(signature));
}

}  // namespace
}  // namespace ota
