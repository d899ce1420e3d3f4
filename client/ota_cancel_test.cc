// Runs the built ota-cancel binary against an in-process fake gateway: flags, output and exit
// codes as a script sees them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/testing/fake_gateway.h"
#include "google/rpc/error_details.pb.h"

namespace ota::client {
namespace {

using ::ota::testing::DetailedStatus;
using ::ota::testing::FakeGateway;

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ctest runs test cases in parallel processes; each needs its own files.
std::filesystem::path UniqueTempPath(const std::string& suffix) {
  static int counter = 0;
  return std::filesystem::path(::testing::TempDir()) /
         absl::StrCat("ota-cancel-test-", getpid(), "-", ++counter, ".", suffix);
}

std::string Quote(const std::string& arg) { return absl::StrCat("'", arg, "'"); }

std::string QuoteAll(const std::vector<std::string>& args) {
  return absl::StrJoin(args, " ", [](std::string* out, const std::string& arg) {
    absl::StrAppend(out, Quote(arg));
  });
}

// `env` entries are NAME=VALUE; OTA_GATEWAY_TARGET and OTA_TOKEN are cleared unless given.
CliRun RunCli(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  const std::filesystem::path out = UniqueTempPath("out");
  const std::filesystem::path err = UniqueTempPath("err");
  const std::string command = absl::StrCat("env -u OTA_GATEWAY_TARGET -u OTA_TOKEN ", QuoteAll(env),
                                           " ", Quote(OTA_CANCEL_BINARY), " ", QuoteAll(args), " >",
                                           Quote(out.string()), " 2>", Quote(err.string()));
  // The test's subject is the real binary, run the way a script would run it.
  const int status = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
  CliRun run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = Slurp(out);
  run.err = Slurp(err);
  return run;
}

class OtaCancelTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(gateway_.port(), 0); }

  FakeGateway gateway_;
};

TEST_F(OtaCancelTest, SuccessPrintsRequestId) {
  gateway_.ReplyWith(std::string("RID-OK-1"));
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "HvKuBpuk3rdk6E92CP0200",
                             "--iot-instance-id", "iot-cn-1", "--timeout", "4s"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "cancelled (Alibaba RequestId RID-OK-1)\n");
  EXPECT_THAT(run.err, IsEmpty());
  const auto calls = gateway_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request.job_id(), "HvKuBpuk3rdk6E92CP0200");
  EXPECT_EQ(calls[0].request.iot_instance_id(), "iot-cn-1");
  // Slack: gRPC rounds the timeout up when it encodes the grpc-timeout header.
  EXPECT_LE(calls[0].deadline_in, absl::Seconds(4) + absl::Milliseconds(200));
  EXPECT_GT(calls[0].deadline_in, absl::Seconds(2));
}

TEST_F(OtaCancelTest, SuccessAsJsonAndTargetFromEnvironment) {
  gateway_.ReplyWith(std::string("RID-OK-2"));
  const CliRun run = RunCli({"--job_id=job-2", "--json"},
                            {absl::StrCat("OTA_GATEWAY_TARGET=", gateway_.target())});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(nlohmann::json::parse(run.out),
            nlohmann::json::parse(R"({"ok":true,"request_id":"RID-OK-2","outcome":"cancelled"})"));
}

TEST_F(OtaCancelTest, AlreadyCancelledIsSuccessTooAndSaysSo) {
  gateway_.ReplyWith(std::string("RID-ORIGINAL"), ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED);
  const CliRun text = RunCli({"--target", gateway_.target(), "--job-id", "job-3"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out, "already cancelled (Alibaba RequestId RID-ORIGINAL)\n");
  const CliRun json = RunCli({"--target", gateway_.target(), "--job-id", "job-3", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(nlohmann::json::parse(json.out),
            nlohmann::json::parse(
                R"({"ok":true,"request_id":"RID-ORIGINAL","outcome":"already_cancelled"})"));
}

TEST_F(OtaCancelTest, NotFoundReportsDetailsOnStderr) {
  google::rpc::ErrorInfo info;
  info.set_reason("JOB_NOT_FOUND");
  info.set_domain("iot.aliyuncs.com");
  (*info.mutable_metadata())["alibaba_code"] = "iot.ota.JobNotFound";
  (*info.mutable_metadata())["alibaba_request_id"] = "RID-NF";
  gateway_.ReplyWith(DetailedStatus(grpc::StatusCode::NOT_FOUND, "no such batch", {&info}));
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "job-3"});
  EXPECT_EQ(run.exit_code, 4);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.err, HasSubstr("NOT_FOUND: no such batch"));
  EXPECT_THAT(run.err, HasSubstr("reason=JOB_NOT_FOUND"));
  EXPECT_THAT(run.err, HasSubstr("alibaba_code=iot.ota.JobNotFound"));
  EXPECT_THAT(run.err, HasSubstr("alibaba_request_id=RID-NF"));
}

TEST_F(OtaCancelTest, ResourceExhaustedAsJsonCarriesRetryDelay) {
  google::rpc::ErrorInfo info;
  info.set_reason("RATE_LIMITED");
  info.set_domain("ota-gateway");
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_nanos(250'000'000);
  gateway_.ReplyWith(
      DetailedStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, "quota busy", {&info, &retry}));
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "job-4", "--json"});
  EXPECT_EQ(run.exit_code, 6);
  const nlohmann::json json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["ok"], false);
  EXPECT_EQ(json["code"], "RESOURCE_EXHAUSTED");
  EXPECT_EQ(json["reason"], "RATE_LIMITED");
  EXPECT_EQ(json["retry_delay_seconds"], 0.25);
  EXPECT_EQ(json["alibaba_code"], nullptr);
}

TEST_F(OtaCancelTest, RetryDelayIsShownInText) {
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(3);
  gateway_.ReplyWith(DetailedStatus(grpc::StatusCode::UNAVAILABLE, "upstream down", {&retry}));
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "job-5"});
  EXPECT_EQ(run.exit_code, 7);
  EXPECT_THAT(run.err, HasSubstr("UNAVAILABLE: upstream down"));
  EXPECT_THAT(run.err, HasSubstr("retry_after=3s"));
}

TEST_F(OtaCancelTest, ExitCodePerCategory) {
  const std::vector<std::pair<grpc::StatusCode, int>> cases = {
      {grpc::StatusCode::INVALID_ARGUMENT, 3},  {grpc::StatusCode::FAILED_PRECONDITION, 5},
      {grpc::StatusCode::PERMISSION_DENIED, 1}, {grpc::StatusCode::INTERNAL, 1},
      {grpc::StatusCode::DEADLINE_EXCEEDED, 7},
  };
  for (const auto& [code, exit_code] : cases) {
    gateway_.ReplyWith(grpc::Status(code, "scripted"));
    const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "job-6"});
    EXPECT_EQ(run.exit_code, exit_code) << run.err;
  }
}

TEST_F(OtaCancelTest, DeadlinePassingExits7) {
  gateway_.HoldCalls();
  const CliRun run =
      RunCli({"--target", gateway_.target(), "--job-id", "job-7", "--timeout", "200ms"});
  EXPECT_EQ(run.exit_code, 7);
  EXPECT_THAT(run.err, HasSubstr("DEADLINE_EXCEEDED"));
}

TEST_F(OtaCancelTest, TokenFileIsSentAsBearerAndNeverPrinted) {
  const std::filesystem::path token = UniqueTempPath("token");
  std::ofstream(token) << "tok-123-secret\n";
  gateway_.ReplyWith(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "who are you"));
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "job-8", "--token-file",
                             token.string(), "--json"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(gateway_.calls().at(0).authorization, "Bearer tok-123-secret");
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("tok-123-secret")));
}

TEST_F(OtaCancelTest, TokenFromEnvironmentIsSentAsBearer) {
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "job-9", "--json"},
                            {"OTA_TOKEN=tok-from-env"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(gateway_.calls().at(0).authorization, "Bearer tok-from-env");
  EXPECT_THAT(run.out + run.err, Not(HasSubstr("tok-from-env")));
}

TEST(OtaCancelUsageTest, UsageErrorsExit2WithoutCallingAnyone) {
  const std::vector<std::vector<std::string>> bad_command_lines = {
      {"--target", "127.0.0.1:1"},  // no --job-id
      {"--job-id", "j"},            // no target
      {"--target", "127.0.0.1:1", "--job-id", "j", "--timeout", "soon"},
      {"--target", "127.0.0.1:1", "--job-id", "j", "--timeout", "0s"},
      {"--target", "127.0.0.1:1", "--job-id", "j", "--jbo-id", "x"},
      {"--target", "127.0.0.1:1", "--job-id", "j", "stray"},
      {"--target", "127.0.0.1:1", "--job-id", "j", "--tls", "--ca-file", "/nonexistent/ca.pem"},
      {"--target", "127.0.0.1:1", "--job-id", "j", "--token-file", "/nonexistent/token"},
      {"--target", "127.0.0.1:1", "--job-id", "j", "--cert-file", "c.pem"},  // needs --tls
  };
  for (const auto& args : bad_command_lines) {
    const CliRun run = RunCli(args);
    EXPECT_EQ(run.exit_code, 2) << absl::StrJoin(args, " ") << "\n" << run.err;
    EXPECT_THAT(run.err, HasSubstr("ota-cancel: ")) << absl::StrJoin(args, " ");
  }
  EXPECT_THAT(RunCli({"--target", "127.0.0.1:1"}).err, HasSubstr("--job-id is required"));
}

TEST(OtaCancelUsageTest, ATimeoutWithoutAUnitSaysAUnitIsNeeded) {
  const CliRun run = RunCli({"--target", "127.0.0.1:1", "--job-id", "j", "--timeout", "5"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("ota-cancel: bad value '5' for flag --timeout: a duration needs "
                                 "a unit, e.g. 5s or 5ms"));
}

TEST_F(OtaCancelTest, TlsAgainstAPlaintextPortSaysOnlyItsOwnClearMessage) {
  const CliRun run = RunCli({"--target", gateway_.target(), "--job-id", "j", "--tls"});
  EXPECT_EQ(run.exit_code, 7);
  EXPECT_TRUE(gateway_.calls().empty());
  // One line of ota-cancel's own: none of gRPC's log lines ("E1207 ... ssl_transport_security.cc").
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_THAT(run.err, ::testing::StartsWith("ota-cancel: UNAVAILABLE: the TLS handshake with the "
                                             "gateway failed: if it serves plaintext, connect "
                                             "without TLS (ota-cancel: leave out --tls)"));
}

TEST(OtaCancelUnreachableTest, NoServerExits7) {
  const std::string socket = UniqueTempPath("sock").string();
  std::filesystem::remove(socket);
  const CliRun run = RunCli({"--target", absl::StrCat("unix:", socket), "--job-id", "j"});
  EXPECT_EQ(run.exit_code, 7);
  EXPECT_THAT(run.err, HasSubstr("UNAVAILABLE"));
}

// --- ota-cancel batch against the fake gateway (no quota: the real pacing is in the e2e tests) --

std::vector<ota::v1::OtaJob> FirmwareJobs(int dynamic) {
  std::vector<ota::v1::OtaJob> jobs;
  for (int i = 0; i < dynamic; ++i) {
    ota::v1::OtaJob job;
    job.set_job_id(absl::StrCat("FW-DYN-", i));
    job.set_selection_type(ota::v1::SELECTION_TYPE_DYNAMIC);
    job.set_job_status(i % 2 == 0 ? ota::v1::JOB_STATUS_IN_PROGRESS : ota::v1::JOB_STATUS_PLANNED);
    jobs.push_back(job);
  }
  ota::v1::OtaJob fixed;
  fixed.set_job_id("FW-STATIC");
  fixed.set_selection_type(ota::v1::SELECTION_TYPE_STATIC);
  fixed.set_job_status(ota::v1::JOB_STATUS_IN_PROGRESS);
  jobs.insert(jobs.begin() + 3, fixed);
  ota::v1::OtaJob done;
  done.set_job_id("FW-DONE");
  done.set_selection_type(ota::v1::SELECTION_TYPE_DYNAMIC);
  done.set_job_status(ota::v1::JOB_STATUS_COMPLETED);
  jobs.push_back(done);
  return jobs;
}

TEST_F(OtaCancelTest, BatchFirmwareDryRunListsOnlyDynamicActiveBatchesAndSendsNoCancel) {
  gateway_.ListJobs(FirmwareJobs(205));
  const CliRun run = RunCli({"batch", "--target", gateway_.target(), "--firmware-id", "FW-1",
                             "--iot-instance-id", "iot-1", "--dry-run"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> lines = absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 205u) << run.out;
  EXPECT_EQ(lines[0], "FW-DYN-0\tIN_PROGRESS");
  EXPECT_EQ(lines[1], "FW-DYN-1\tPLANNED");
  EXPECT_THAT(run.out, Not(HasSubstr("FW-STATIC")));
  EXPECT_THAT(run.out, Not(HasSubstr("FW-DONE")));
  EXPECT_THAT(run.err, HasSubstr("207 batches listed, 205 to cancel, 2 skipped"));
  EXPECT_THAT(run.err, HasSubstr("skipped FW-STATIC: static batch (no dynamic policy)"));
  EXPECT_THAT(run.err, HasSubstr("skipped FW-DONE: not active (COMPLETED)"));
  const auto lists = gateway_.list_calls();
  ASSERT_EQ(lists.size(), 2u);
  EXPECT_EQ(lists[0].firmware_id(), "FW-1");
  EXPECT_EQ(lists[0].iot_instance_id(), "iot-1");
  EXPECT_EQ(lists[0].page_size(), 200);
  EXPECT_EQ(lists[1].page_token(), "200");
  EXPECT_TRUE(gateway_.calls().empty());
}

TEST_F(OtaCancelTest, BatchFirmwareRunCancelsTheSelectedBatchesWithTheirInstance) {
  gateway_.ListJobs(FirmwareJobs(30));
  const std::filesystem::path results = UniqueTempPath("jsonl");
  const CliRun run = RunCli({"batch", "--target", gateway_.target(), "--firmware-id", "FW-1",
                             "--iot-instance-id", "iot-1", "--yes", "--results", results.string()});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const auto calls = gateway_.calls();
  ASSERT_EQ(calls.size(), 30u);
  for (const auto& call : calls) {
    EXPECT_THAT(call.request.job_id(), ::testing::StartsWith("FW-DYN-"));
    EXPECT_EQ(call.request.iot_instance_id(), "iot-1");
  }
  const std::vector<std::string> lines = absl::StrSplit(Slurp(results), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 30u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["code"], "OK");
  EXPECT_THAT(run.err, HasSubstr("progress: 30/30 100.0%"));
  std::filesystem::remove(results);
}

TEST_F(OtaCancelTest, BatchFirmwareWithoutATerminalNeedsYes) {
  gateway_.ListJobs(FirmwareJobs(3));
  const CliRun run = RunCli({"batch", "--target", gateway_.target(), "--firmware-id", "FW-1"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("needs --yes"));
  EXPECT_TRUE(gateway_.list_calls().empty());
  EXPECT_TRUE(gateway_.calls().empty());
}

TEST_F(OtaCancelTest, BatchFirmwareListingRefusedExits1WithTheGatewaysError) {
  google::rpc::ErrorInfo info;
  info.set_reason("CALLER_NOT_ALLOWED");
  info.set_domain("ota-gateway");
  gateway_.FailListWith(
      DetailedStatus(grpc::StatusCode::PERMISSION_DENIED, "rpcs does not name it", {&info}));
  const CliRun run =
      RunCli({"batch", "--target", gateway_.target(), "--firmware-id", "FW-1", "--yes"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("listing the batches of firmware FW-1 (page 1): "
                                 "PERMISSION_DENIED: rpcs does not name it "
                                 "(reason=CALLER_NOT_ALLOWED"));
  EXPECT_TRUE(gateway_.calls().empty());
}

TEST_F(OtaCancelTest, BatchJobsFromStdinWithErrorsExits1AndWritesJsonLinesToStdout) {
  gateway_.ReplyWith(DetailedStatus(grpc::StatusCode::NOT_FOUND, "no such batch", {}));
  const std::filesystem::path jobs = UniqueTempPath("txt");
  std::ofstream(jobs) << "J1\nJ2,iot-2\n";
  const std::string command = absl::StrCat(
      "env -u OTA_GATEWAY_TARGET -u OTA_TOKEN ", Quote(OTA_CANCEL_BINARY), " batch --target ",
      gateway_.target(), " --jobs - --results - <", Quote(jobs.string()), " 2>/dev/null");
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  for (std::size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out;
  for (const std::string& line : lines) {
    const nlohmann::json result = nlohmann::json::parse(line);
    EXPECT_EQ(result["code"], "NOT_FOUND");
    EXPECT_EQ(result["attempts"], 1);
  }
  EXPECT_EQ(gateway_.calls().size(), 2u);
  std::filesystem::remove(jobs);
}

}  // namespace
}  // namespace ota::client
