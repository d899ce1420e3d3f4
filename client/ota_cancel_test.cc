// Runs the built ota-cancel binary against an in-process fake gateway: flags, output and exit
// codes as a script sees them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

}  // namespace
}  // namespace ota::client
