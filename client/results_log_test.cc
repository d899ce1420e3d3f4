#include "client/results_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace ota::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

const absl::Time kFinished = absl::FromUnixMillis(1796633045123);  // 2026-12-07T08:44:05.123Z

TEST(ResultFromCallTest, SuccessKeepsOutcomeAndRequestId) {
  const CancelResult call{.request_id = "REQ-1",
                          .outcome = ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED,
                          .error = std::nullopt};
  const JobResult result = ResultFromCall({.job_id = "J1", .iot_instance_id = "iot-1"}, call, 2,
                                          absl::Milliseconds(1500), kFinished);
  EXPECT_EQ(JobResultToJson(result),
            nlohmann::json::parse(R"({"job_id":"J1","iot_instance_id":"iot-1","code":"OK",
              "outcome":"already_cancelled","reason":null,"alibaba_code":null,
              "request_id":"REQ-1","attempts":2,"elapsed_ms":1500,
              "finished_at":"2026-12-07T08:44:05.123Z","message":null})"));
}

TEST(ResultFromCallTest, ErrorKeepsCodeReasonAndAlibabaFields) {
  CallError error;
  error.code = grpc::StatusCode::NOT_FOUND;
  error.message = "no such batch";
  error.reason = "JOB_NOT_FOUND";
  error.alibaba_code = "iot.ota.OtaJobNotExist";
  error.alibaba_request_id = "REQ-2";
  const CancelResult call{.request_id = {}, .outcome = {}, .error = error};
  const nlohmann::json json = JobResultToJson(ResultFromCall(
      {.job_id = "J2", .iot_instance_id = ""}, call, 1, absl::Milliseconds(80), kFinished));
  EXPECT_EQ(json["code"], "NOT_FOUND");
  EXPECT_EQ(json["outcome"], nullptr);
  EXPECT_EQ(json["iot_instance_id"], nullptr);
  EXPECT_EQ(json["reason"], "JOB_NOT_FOUND");
  EXPECT_EQ(json["alibaba_code"], "iot.ota.OtaJobNotExist");
  EXPECT_EQ(json["request_id"], "REQ-2");
  EXPECT_EQ(json["message"], "no such batch");
}

TEST(InterruptedResultTest, IsNotFinalSoResumeSendsItAgain) {
  const JobResult result =
      InterruptedResult({.job_id = "J3", .iot_instance_id = ""}, 1, absl::Seconds(1), kFinished);
  EXPECT_EQ(result.code, "CANCELLED");
  EXPECT_EQ(result.reason, "INTERRUPTED");
  EXPECT_FALSE(IsFinalCode(result.code));
}

TEST(IsFinalCodeTest, SettledCodesAreFinalTransientOnesAreNot) {
  for (const char* code :
       {"OK", "NOT_FOUND", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "PERMISSION_DENIED"}) {
    EXPECT_TRUE(IsFinalCode(code)) << code;
  }
  for (const char* code : {"RESOURCE_EXHAUSTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL",
                           "UNAUTHENTICATED", "CANCELLED", ""}) {
    EXPECT_FALSE(IsFinalCode(code)) << code;
  }
}

TEST(ReadResumeStateTest, TheLastLineOfABatchDecides) {
  const ResumeState state = ReadResumeState(
      R"({"job_id":"A","iot_instance_id":null,"code":"UNAVAILABLE"})"
      "\n"
      R"({"job_id":"A","iot_instance_id":null,"code":"OK"})"
      "\n"
      R"({"job_id":"B","iot_instance_id":"iot-1","code":"NOT_FOUND"})"
      "\n"
      R"({"job_id":"C","iot_instance_id":null,"code":"OK"})"
      "\n"
      R"({"job_id":"C","iot_instance_id":null,"code":"RESOURCE_EXHAUSTED"})"
      "\n"
      R"({"job_id":"D","iot_instance_id":null,"code":"CANCELLED","reason":"INTERRUPTED"})"
      "\n"
      R"({"job_id":"E","iot_instance_id":nu)");
  EXPECT_THAT(
      state.settled,
      UnorderedElementsAre(Pair(BatchJob{.job_id = "A", .iot_instance_id = ""}, "OK"),
                           Pair(BatchJob{.job_id = "B", .iot_instance_id = "iot-1"}, "NOT_FOUND")));
  EXPECT_EQ(state.lines, 6);
  EXPECT_THAT(state.warnings, ElementsAre("results line 7 is not a result (cut short?); ignored"));
}

std::filesystem::path TempPath(const std::string& name) {
  return std::filesystem::path(::testing::TempDir()) /
         absl::StrCat("results-log-test-", getpid(), "-", name);
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ResultsLogTest, RefusesToOverwriteAndAppendsOnANewLineWhenResuming) {
  const std::filesystem::path path = TempPath("append.jsonl");
  std::filesystem::remove(path);
  const JobResult ok = ResultFromCall(
      {.job_id = "J1", .iot_instance_id = ""},
      CancelResult{
          .request_id = "R1", .outcome = ota::v1::CANCEL_OUTCOME_CANCELLED, .error = std::nullopt},
      1, absl::Milliseconds(5), kFinished);
  {
    absl::StatusOr<std::unique_ptr<ResultsLog>> log = ResultsLog::Open(path.string(), false);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_TRUE((*log)->Write(ok));
  }
  // A run killed mid-line leaves a cut line behind.
  std::ofstream(path, std::ios::app) << R"({"job_id":"J2")";

  const absl::StatusOr<std::unique_ptr<ResultsLog>> again = ResultsLog::Open(path.string(), false);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("--resume"));

  {
    absl::StatusOr<std::unique_ptr<ResultsLog>> log = ResultsLog::Open(path.string(), true);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_TRUE((*log)->Write(ok));
  }
  const ResumeState state = ReadResumeState(Slurp(path));
  EXPECT_EQ(state.lines, 2);
  EXPECT_EQ(state.warnings.size(), 1u);
  EXPECT_EQ(state.settled.size(), 1u);
  std::filesystem::remove(path);
}

TEST(ResultsLogTest, WritesOneFlushedLinePerResult) {
  std::ostringstream out;
  ResultsLog log(out);
  EXPECT_TRUE(log.Write(InterruptedResult({.job_id = "J1", .iot_instance_id = ""}, 1,
                                          absl::ZeroDuration(), kFinished)));
  EXPECT_EQ(out.str().back(), '\n');
  EXPECT_EQ(nlohmann::json::parse(out.str())["job_id"], "J1");
}

}  // namespace
}  // namespace ota::client
