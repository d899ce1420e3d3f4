// The resolution table: every combination of what the cancel came to (an answer lost, or one of
// the business refusals), what QueryOTAJob said, and no time left to ask it.
#include "server/call/outcome_resolution.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/http/attempt_stage.h"
#include "server/testing/fake_credentials_http_client.h"

namespace ota {
namespace {

using ::ota::testing::Reply;

std::string Refusal(const std::string& code) {
  return absl::StrCat(R"({"RequestId":"CANCEL-REQ","Success":false,"Code":")", code,
                      R"(","ErrorMessage":"refused"})");
}

std::string JobState(const std::string& status, const std::string& selection) {
  return absl::StrCat(R"({"RequestId":"QUERY-REQ","Success":true,"Data":{"JobId":"J1",)",
                      R"("JobStatus":")", status, R"(","SelectionType":")", selection, R"("}})");
}

struct FirstAnswer {
  std::string name;
  ResolutionTrigger trigger;
  absl::StatusOr<HttpResponse> response;
};

struct QueryAnswer {
  std::string name;
  std::optional<absl::StatusOr<HttpResponse>> response;  // nullopt: no time left to ask
};

struct Expected {
  Expected(absl::StatusCode c, std::string r, CancelOutcome o = CancelOutcome::kUnspecified,
           std::string id = "")
      : code(c), reason(std::move(r)), outcome(o), request_id(std::move(id)) {}
  absl::StatusCode code;
  std::string reason;  // empty on OK
  CancelOutcome outcome;
  std::string request_id;  // checked when set
};

std::vector<FirstAnswer> FirstAnswers() {
  return {
      {"reset after sending", ResolutionTrigger::kSentWithoutAnswer,
       WithAttemptStage(absl::UnavailableError("Connection reset by peer"),
                        AttemptStage::kSentWithoutAnswer)},
      {"timeout after sending", ResolutionTrigger::kSentWithoutAnswer,
       WithAttemptStage(absl::UnavailableError("upstream timed out after 1000ms"),
                        AttemptStage::kSentWithoutAnswer)},
      {"unreadable 200", ResolutionTrigger::kSentWithoutAnswer, Reply(200, "<html>")},
      {"refused: status not supported", ResolutionTrigger::kRefused,
       Reply(200, Refusal("iot.ota.OtaJobStatusNotSupported"))},
      {"refused: type not supported", ResolutionTrigger::kRefused,
       Reply(200, Refusal("iot.ota.OtaJobTypeNotSupported"))},
      {"refused: job not exist", ResolutionTrigger::kRefused,
       Reply(200, Refusal("iot.ota.OtaJobNotExist"))},
      {"refused: unknown code", ResolutionTrigger::kRefused,
       Reply(200, Refusal("iot.ota.BrandNewCode"))},
  };
}

std::vector<QueryAnswer> QueryAnswers() {
  return {
      {"CANCELED/DYNAMIC", Reply(200, JobState("CANCELED", "DYNAMIC"))},
      {"COMPLETED/DYNAMIC", Reply(200, JobState("COMPLETED", "DYNAMIC"))},
      {"IN_PROGRESS/STATIC", Reply(200, JobState("IN_PROGRESS", "STATIC"))},
      {"CANCELED/STATIC", Reply(200, JobState("CANCELED", "STATIC"))},
      {"IN_PROGRESS/DYNAMIC", Reply(200, JobState("IN_PROGRESS", "DYNAMIC"))},
      {"PLANNED/DYNAMIC", Reply(200, JobState("PLANNED", "DYNAMIC"))},
      {"not found", Reply(200, Refusal("iot.ota.OtaJobNotExist"))},
      {"permission denied",
       Reply(403, R"({"RequestId":"Q","Code":"Forbidden.RAM","Message":"no"})")},
      {"throttled", Reply(400, R"({"RequestId":"Q","Code":"Throttling.User","Message":"x"})")},
      {"503", Reply(503, R"({"RequestId":"Q","Code":"ServiceUnavailable","Message":"x"})")},
      {"reset", WithAttemptStage(absl::UnavailableError("Connection reset by peer"),
                                 AttemptStage::kSentWithoutAnswer)},
      {"unreachable",
       WithAttemptStage(absl::UnavailableError("Connection refused"), AttemptStage::kNeverSent)},
      {"no Data", Reply(200, R"({"RequestId":"Q","Success":true})")},
      {"no time left", std::nullopt},
  };
}

Expected Expect(const FirstAnswer& first, const QueryAnswer& query,
                const CallOutcome& cancel_outcome) {
  const bool refused = first.trigger == ResolutionTrigger::kRefused;
  const Expected unknown{absl::StatusCode::kUnavailable, "OUTCOME_UNKNOWN"};
  const Expected as_refused{cancel_outcome.code, cancel_outcome.reason};
  const std::string& q = query.name;
  if (q == "CANCELED/DYNAMIC") {
    return Expected(absl::StatusCode::kOk, "", CancelOutcome::kAlreadyCancelled, "QUERY-REQ");
  }
  if (q == "COMPLETED/DYNAMIC")
    return Expected(absl::StatusCode::kFailedPrecondition, "JOB_FINISHED");
  if (q == "IN_PROGRESS/STATIC" || q == "CANCELED/STATIC") {
    return Expected(absl::StatusCode::kFailedPrecondition, "JOB_NOT_DYNAMIC");
  }
  if (q == "IN_PROGRESS/DYNAMIC" || q == "PLANNED/DYNAMIC") {
    // Not applied yet; a lost request may still be: unknown, never "not applied".
    return refused ? as_refused : unknown;
  }
  if (q == "not found") {
    return Expected(absl::StatusCode::kNotFound, "JOB_NOT_FOUND");  // NOT_FOUND either way
  }
  if (q == "permission denied") return refused ? as_refused : unknown;
  return unknown;  // throttled, 503, reset, unreachable, no Data, no time left
}

TEST(OutcomeResolutionTest, EveryFirstAnswerTimesEveryQueryAnswer) {
  const ErrorMapper errors;
  int rows = 0;
  for (const FirstAnswer& first : FirstAnswers()) {
    const AttemptResult cancel = ClassifyAttempt(first.response, errors);
    ASSERT_EQ(cancel.kind == AttemptKind::kSentWithoutAnswer,
              first.trigger == ResolutionTrigger::kSentWithoutAnswer)
        << first.name;
    if (first.trigger == ResolutionTrigger::kRefused) {
      ASSERT_TRUE(IsBusinessRefusal(cancel)) << first.name;
    }
    for (const QueryAnswer& query : QueryAnswers()) {
      std::optional<AttemptResult> asked;
      if (query.response.has_value()) asked = ClassifyAttempt(*query.response, errors);
      const CallOutcome got = ResolveCancelOutcome(first.trigger, cancel.outcome, asked);
      const Expected want = Expect(first, query, cancel.outcome);
      const std::string row = absl::StrCat(first.name, " + QueryOTAJob ", query.name);
      ++rows;
      EXPECT_EQ(got.code, want.code) << row << ": " << got.message;
      EXPECT_EQ(got.reason, want.reason) << row << ": " << got.message;
      EXPECT_EQ(got.cancel_outcome, want.outcome) << row;
      if (!want.request_id.empty()) {
        EXPECT_EQ(got.request_id, want.request_id) << row;
      }
      EXPECT_TRUE(got.resolved_by_query) << row;
      if (got.reason == "OUTCOME_UNKNOWN") {
        EXPECT_NE(got.message.find("may have been applied"), std::string::npos) << got.message;
        EXPECT_NE(got.message.find("calling again is safe"), std::string::npos) << got.message;
        EXPECT_TRUE(got.retryable) << row;
        EXPECT_TRUE(got.retry_after.has_value()) << row;
      }
      EXPECT_EQ(got.message.find("was not applied"), std::string::npos) << row << got.message;
      EXPECT_EQ(got.message.find("could not reach"), std::string::npos) << row << got.message;
    }
  }
  EXPECT_EQ(rows, 7 * 14);
}

TEST(OutcomeResolutionTest, NotFoundKeepsTheCancelsOwnAnswerWhenItSaidSoToo) {
  const ErrorMapper errors;
  const AttemptResult cancel =
      ClassifyAttempt(Reply(200, Refusal("iot.ota.OtaJobNotExist")), errors);
  const std::optional<AttemptResult> query =
      ClassifyAttempt(Reply(200, Refusal("iot.ota.OtaJobNotExist")), errors);
  const CallOutcome got = ResolveCancelOutcome(ResolutionTrigger::kRefused, cancel.outcome, query);
  EXPECT_EQ(got.code, absl::StatusCode::kNotFound);
  EXPECT_EQ(got.request_id, "CANCEL-REQ");
  EXPECT_NE(got.message.find("QueryOTAJob does not know the batch either"), std::string::npos);
}

TEST(OutcomeResolutionTest, NoTimeLeftSaysWhyTheQueryWasNotAsked) {
  const CallOutcome got = ResolveCancelOutcome(
      ResolutionTrigger::kSentWithoutAnswer,
      GatewayError(absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", "lost"), std::nullopt,
      "the account's QueryOTAJob quota has no slot before the deadline");
  EXPECT_EQ(got.reason, "OUTCOME_UNKNOWN");
  EXPECT_NE(got.message.find("QueryOTAJob quota has no slot"), std::string::npos) << got.message;
}

}  // namespace
}  // namespace ota
