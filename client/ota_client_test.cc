#include "client/ota_client.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/testing/fake_gateway.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/testing/status_matchers.h"

namespace ota::client {
namespace {

using ::ota::testing::DetailedStatus;
using ::ota::testing::FakeGateway;

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

google::rpc::ErrorInfo AlibabaNotFound() {
  google::rpc::ErrorInfo info;
  info.set_reason("JOB_NOT_FOUND");
  info.set_domain("iot.aliyuncs.com");
  (*info.mutable_metadata())["alibaba_code"] = "iot.ota.JobNotFound";
  (*info.mutable_metadata())["alibaba_request_id"] = "4C9B5BFE-6D0A-4D0B-8B0A-8A2B1C0D1E2F";
  (*info.mutable_metadata())["http_status"] = "404";
  return info;
}

google::rpc::RetryInfo RetryAfter(int64_t seconds, int32_t nanos) {
  google::rpc::RetryInfo retry;
  retry.mutable_retry_delay()->set_seconds(seconds);
  retry.mutable_retry_delay()->set_nanos(nanos);
  return retry;
}

// --- DecodeCallError / FormatCallError on statuses built by hand -------------------------------

TEST(DecodeCallErrorTest, ReadsErrorInfoAndRetryInfo) {
  google::rpc::ErrorInfo info;
  info.set_reason("RATE_LIMITED");
  info.set_domain("ota-gateway");
  google::rpc::RetryInfo retry = RetryAfter(1, 500'000'000);
  const CallError error = DecodeCallError(
      DetailedStatus(grpc::StatusCode::RESOURCE_EXHAUSTED, "quota busy", {&info, &retry}));

  EXPECT_EQ(error.code, grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(error.message, "quota busy");
  EXPECT_EQ(error.reason, "RATE_LIMITED");
  EXPECT_EQ(error.domain, "ota-gateway");
  EXPECT_EQ(error.alibaba_code, "");
  EXPECT_EQ(error.http_status, 0);
  EXPECT_EQ(error.retry_delay, absl::Milliseconds(1500));
  EXPECT_THAT(error.field_violations, IsEmpty());
}

TEST(DecodeCallErrorTest, ReadsAlibabaMetadata) {
  const google::rpc::ErrorInfo info = AlibabaNotFound();
  const CallError error =
      DecodeCallError(DetailedStatus(grpc::StatusCode::NOT_FOUND, "no such batch", {&info}));

  EXPECT_EQ(error.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(error.reason, "JOB_NOT_FOUND");
  EXPECT_EQ(error.domain, "iot.aliyuncs.com");
  EXPECT_EQ(error.alibaba_code, "iot.ota.JobNotFound");
  EXPECT_EQ(error.alibaba_request_id, "4C9B5BFE-6D0A-4D0B-8B0A-8A2B1C0D1E2F");
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(error.retry_delay, std::nullopt);
}

TEST(DecodeCallErrorTest, ReadsBadRequestViolationsInOrder) {
  google::rpc::BadRequest bad;
  auto* first = bad.add_field_violations();
  first->set_field("job_id");
  first->set_description("must not be empty");
  auto* second = bad.add_field_violations();
  second->set_field("iot_instance_id");
  second->set_description("at most 64 characters");
  const CallError error =
      DecodeCallError(DetailedStatus(grpc::StatusCode::INVALID_ARGUMENT, "bad request", {&bad}));

  EXPECT_THAT(error.field_violations,
              ElementsAre(FieldViolation{"job_id", "must not be empty"},
                          FieldViolation{"iot_instance_id", "at most 64 characters"}));
}

TEST(DecodeCallErrorTest, StatusWithoutDetailsKeepsCodeAndMessage) {
  const CallError error = DecodeCallError(grpc::Status(grpc::StatusCode::INTERNAL, "boom"));
  EXPECT_EQ(error.code, grpc::StatusCode::INTERNAL);
  EXPECT_EQ(error.message, "boom");
  EXPECT_EQ(error.reason, "");
}

TEST(DecodeCallErrorTest, AFailedTlsHandshakeSaysWhatToDo) {
  const std::string grpc_words =
      "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:50051: Ssl "
      "handshake failed: SSL_ERROR_SSL: error:0A00010B:SSL routines::wrong version number";
  const CallError error = DecodeCallError(grpc::Status(grpc::StatusCode::UNAVAILABLE, grpc_words));
  EXPECT_EQ(error.code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(error.message,
            "the TLS handshake with the gateway failed: if it serves plaintext, connect without "
            "TLS (ota-cancel: leave out --tls); otherwise check that the CA file holds the CA that "
            "signed the gateway's certificate (gRPC: " +
                grpc_words + ")");
  // Other UNAVAILABLE answers keep their words.
  EXPECT_EQ(
      DecodeCallError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Connection refused")).message,
      "Connection refused");
}

TEST(DecodeCallErrorTest, MalformedDetailsAreIgnored) {
  const CallError error =
      DecodeCallError(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down", "\xff\xff\xff garbage"));
  EXPECT_EQ(error.code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(error.message, "down");
  EXPECT_EQ(error.reason, "");
}

TEST(DecodeCallErrorTest, UnknownDetailTypesAndOddMetadataAreSkipped) {
  google::rpc::ErrorInfo info = AlibabaNotFound();
  (*info.mutable_metadata())["http_status"] = "not-a-number";
  google::rpc::Help help;  // a detail type the client does not use
  help.add_links()->set_url("https://example.com");
  const CallError error =
      DecodeCallError(DetailedStatus(grpc::StatusCode::NOT_FOUND, "gone", {&help, &info}));
  EXPECT_EQ(error.reason, "JOB_NOT_FOUND");
  EXPECT_EQ(error.http_status, 0);
}

TEST(DecodeCallErrorTest, FallsBackToDetailsMessage) {
  google::rpc::Status details;
  details.set_code(static_cast<int>(grpc::StatusCode::ABORTED));
  details.set_message("from details");
  const CallError error =
      DecodeCallError(grpc::Status(grpc::StatusCode::ABORTED, "", details.SerializeAsString()));
  EXPECT_EQ(error.message, "from details");
}

TEST(FormatCallErrorTest, ShowsEveryFieldThatIsSet) {
  CallError error;
  error.code = grpc::StatusCode::RESOURCE_EXHAUSTED;
  error.message = "slow down";
  error.reason = "THROTTLED";
  error.domain = "iot.aliyuncs.com";
  error.alibaba_code = "Throttling.User";
  error.alibaba_request_id = "RID-1";
  error.http_status = 429;
  error.retry_delay = absl::Milliseconds(250);
  error.field_violations = {{"job_id", "odd"}, {"iot_instance_id", "too long"}};
  EXPECT_EQ(
      FormatCallError(error),
      "RESOURCE_EXHAUSTED: slow down (reason=THROTTLED domain=iot.aliyuncs.com "
      "alibaba_code=Throttling.User alibaba_request_id=RID-1 http_status=429 retry_after=250ms "
      "field_violations=[job_id: odd; iot_instance_id: too long])");
}

TEST(FormatCallErrorTest, BareErrorHasNoParentheses) {
  CallError error;
  error.code = grpc::StatusCode::DEADLINE_EXCEEDED;
  error.message = "Deadline Exceeded";
  EXPECT_EQ(FormatCallError(error), "DEADLINE_EXCEEDED: Deadline Exceeded");
}

TEST(StatusCodeNameTest, UsesCanonicalNames) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

// --- OtaClient against an in-process server ---------------------------------------------------

// gRPC sends the timeout in the grpc-timeout header with a few significant digits, rounded up, so
// the server may see slightly more than the client asked for.
constexpr absl::Duration kTimeoutEncodingSlack = absl::Milliseconds(200);

class OtaClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(gateway_.port(), 0) << "fake gateway did not start"; }

  FakeGateway gateway_;
};

TEST_F(OtaClientTest, AlreadyCancelledIsASuccessWithItsOutcome) {
  gateway_.ReplyWith(std::string("ORIGINAL"), ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED);
  OtaClient client(gateway_.NewChannel());
  const CancelResult result = client.CancelByJob("J1");
  ASSERT_THAT(result, IsOk()) << FormatCallError(*result.error);
  EXPECT_EQ(result.outcome, ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED);
  EXPECT_EQ(CancelOutcomeText(result.outcome), "already cancelled");
  EXPECT_EQ(result.request_id, "ORIGINAL");
}

TEST_F(OtaClientTest, SuccessReturnsRequestIdAndSendsTheRequest) {
  gateway_.ReplyWith(std::string("E5A1-REQUEST"));
  OtaClient client(gateway_.NewChannel());
  const CancelResult result = client.CancelByJob("HvKuBpuk3rdk6E92CP0200", "iot-cn-0pp1n8t");

  ASSERT_THAT(result, IsOk()) << FormatCallError(*result.error);
  EXPECT_EQ(result.request_id, "E5A1-REQUEST");
  EXPECT_EQ(result.outcome, ota::v1::CANCEL_OUTCOME_CANCELLED);
  EXPECT_EQ(CancelOutcomeText(result.outcome), "cancelled");
  const auto calls = gateway_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].request.job_id(), "HvKuBpuk3rdk6E92CP0200");
  EXPECT_EQ(calls[0].request.iot_instance_id(), "iot-cn-0pp1n8t");
  EXPECT_EQ(calls[0].authorization, "");
}

TEST_F(OtaClientTest, ListJobsByFirmwareReadsPagesAndSendsTheRequest) {
  std::vector<ota::v1::OtaJob> jobs(3);
  for (int i = 0; i < 3; ++i) {
    jobs[i].set_job_id(absl::StrCat("J", i));
    jobs[i].set_job_status(ota::v1::JOB_STATUS_IN_PROGRESS);
  }
  gateway_.ListJobs(jobs);
  OtaClient client(gateway_.NewChannel(), "tok");
  ota::v1::ListJobsByFirmwareRequest request;
  request.set_firmware_id("FW-1");
  request.set_iot_instance_id("iot-1");
  request.set_page_size(2);
  const ListJobsResult first = client.ListJobsByFirmware(request);
  ASSERT_TRUE(first.ok()) << FormatCallError(*first.error);
  ASSERT_EQ(first.response.jobs_size(), 2);
  EXPECT_EQ(first.response.jobs(1).job_id(), "J1");
  EXPECT_EQ(first.response.total_size(), 3);
  ASSERT_FALSE(first.response.next_page_token().empty());

  request.set_page_token(first.response.next_page_token());
  const ListJobsResult second = client.ListJobsByFirmware(request);
  ASSERT_TRUE(second.ok()) << FormatCallError(*second.error);
  ASSERT_EQ(second.response.jobs_size(), 1);
  EXPECT_EQ(second.response.next_page_token(), "");

  const auto calls = gateway_.list_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].firmware_id(), "FW-1");
  EXPECT_EQ(calls[0].iot_instance_id(), "iot-1");
  EXPECT_EQ(calls[0].page_size(), 2);
}

TEST_F(OtaClientTest, ListJobsByFirmwareDecodesErrors) {
  google::rpc::ErrorInfo info;
  info.set_reason("INVALID_FIRMWARE_ID");
  info.set_domain("ota-gateway");
  gateway_.FailListWith(DetailedStatus(grpc::StatusCode::INVALID_ARGUMENT, "bad id", {&info}));
  OtaClient client(gateway_.NewChannel());
  ota::v1::ListJobsByFirmwareRequest request;
  request.set_firmware_id("bad id");
  const ListJobsResult result = client.ListJobsByFirmware(request);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error->code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.error->reason, "INVALID_FIRMWARE_ID");
  EXPECT_EQ(result.response.jobs_size(), 0);
}

TEST_F(OtaClientTest, DefaultDeadlineIsTenSeconds) {
  OtaClient client(gateway_.NewChannel());
  ASSERT_THAT(client.CancelByJob("job-1"), IsOk());
  const absl::Duration seen = gateway_.calls().at(0).deadline_in;
  EXPECT_GT(seen, absl::Seconds(8));
  EXPECT_LE(seen, absl::Seconds(10) + kTimeoutEncodingSlack);
}

TEST_F(OtaClientTest, GivenTimeoutBecomesTheDeadline) {
  OtaClient client(gateway_.NewChannel());
  ASSERT_THAT(client.CancelByJob("job-1", "", absl::Seconds(3)), IsOk());
  const absl::Duration seen = gateway_.calls().at(0).deadline_in;
  EXPECT_GT(seen, absl::Seconds(1));
  EXPECT_LE(seen, absl::Seconds(3) + kTimeoutEncodingSlack);
}

TEST_F(OtaClientTest, UnusableTimeoutsFallBackToTheDefaultDeadline) {
  OtaClient client(gateway_.NewChannel());
  ASSERT_THAT(client.CancelByJob("job-1", "", absl::ZeroDuration()), IsOk());
  ASSERT_THAT(client.CancelByJob("job-2", "", absl::InfiniteDuration()), IsOk());
  for (const auto& call : gateway_.calls()) {
    EXPECT_GT(call.deadline_in, absl::Seconds(8)) << call.request.job_id();
    EXPECT_LE(call.deadline_in, absl::Seconds(10) + kTimeoutEncodingSlack) << call.request.job_id();
  }
}

TEST_F(OtaClientTest, DecodesErrorDetailsSentOverTheWire) {
  const google::rpc::ErrorInfo info = AlibabaNotFound();
  const google::rpc::RetryInfo retry = RetryAfter(2, 0);
  gateway_.ReplyWith(
      DetailedStatus(grpc::StatusCode::UNAVAILABLE, "Alibaba is down", {&info, &retry}));
  OtaClient client(gateway_.NewChannel());
  const CancelResult result = client.CancelByJob("job-1");

  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(result.request_id, "");
  const CallError& error = *result.error;
  EXPECT_EQ(error.code, grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(error.message, "Alibaba is down");
  EXPECT_EQ(error.reason, "JOB_NOT_FOUND");
  EXPECT_EQ(error.alibaba_code, "iot.ota.JobNotFound");
  EXPECT_EQ(error.alibaba_request_id, "4C9B5BFE-6D0A-4D0B-8B0A-8A2B1C0D1E2F");
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(error.retry_delay, absl::Seconds(2));
  // An UNAVAILABLE the gateway returned is final here: the call may already have reached Alibaba.
  EXPECT_EQ(gateway_.calls().size(), 1u);
}

TEST_F(OtaClientTest, DecodesBadRequestSentOverTheWire) {
  google::rpc::ErrorInfo info;
  info.set_reason("INVALID_JOB_ID");
  info.set_domain("ota-gateway");
  google::rpc::BadRequest bad;
  auto* violation = bad.add_field_violations();
  violation->set_field("job_id");
  violation->set_description("1 to 64 characters from A-Z a-z 0-9 _ -");
  gateway_.ReplyWith(
      DetailedStatus(grpc::StatusCode::INVALID_ARGUMENT, "bad job_id", {&info, &bad}));
  OtaClient client(gateway_.NewChannel());
  const CancelResult result = client.CancelByJob("job 1");

  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(result.error->code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(result.error->reason, "INVALID_JOB_ID");
  EXPECT_THAT(result.error->field_violations,
              ElementsAre(FieldViolation{"job_id", "1 to 64 characters from A-Z a-z 0-9 _ -"}));
}

TEST_F(OtaClientTest, DeadlinePassingIsDeadlineExceeded) {
  gateway_.HoldCalls();
  OtaClient client(gateway_.NewChannel());
  const absl::Time start = absl::Now();
  const CancelResult result = client.CancelByJob("job-1", "", absl::Milliseconds(300));
  const absl::Duration took = absl::Now() - start;

  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(result.error->code, grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(result.error->reason, "");
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(OtaClientTest, SendsBearerTokenWhenConfigured) {
  OtaClient client(gateway_.NewChannel(), "s3cr3t-token");
  ASSERT_THAT(client.CancelByJob("job-1"), IsOk());
  EXPECT_EQ(gateway_.calls().at(0).authorization, "Bearer s3cr3t-token");
}

TEST_F(OtaClientTest, ConnectPlaintextReachesTheServer) {
  absl::StatusOr<OtaClient> client = OtaClient::Connect(gateway_.target(), {.bearer_token = "tok"});
  ASSERT_THAT(client, IsOk());
  gateway_.ReplyWith(std::string("RID-PLAIN"));
  const CancelResult result = client->CancelByJob("job-1");
  ASSERT_THAT(result, IsOk()) << FormatCallError(*result.error);
  EXPECT_EQ(result.request_id, "RID-PLAIN");
  EXPECT_EQ(gateway_.calls().at(0).authorization, "Bearer tok");
}

std::string UnusedSocketPath(const std::string& name) {
  std::string socket = (std::filesystem::path(::testing::TempDir()) /
                        absl::StrCat("ota-client-test-", name, "-", getpid(), ".sock"))
                           .string();
  std::filesystem::remove(socket);
  return socket;
}

TEST(OtaClientUnreachableTest, NoServerIsUnavailableAfterOneReconnectNotTheWholeDeadline) {
  absl::StatusOr<OtaClient> client =
      OtaClient::Connect(absl::StrCat("unix:", UnusedSocketPath("nobody")), {});
  ASSERT_THAT(client, IsOk());
  const absl::Time start = absl::Now();
  const CancelResult result = client->CancelByJob("job-1", "", absl::Seconds(60));
  const absl::Duration took = absl::Now() - start;
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(result.error->code, grpc::StatusCode::UNAVAILABLE);
  // The connect error itself, not a deadline: the caller learns what is wrong.
  EXPECT_THAT(result.error->message, HasSubstr("failed to connect"));
  // One reconnect grace, far from the 60 s deadline (a loose bound: machines are shared).
  EXPECT_LT(took, absl::Seconds(30));
}

TEST(OtaClientUnreachableTest, ACallRefusedForWantOfAConnectionIsTriedOnceMoreAfterReconnecting) {
  const std::string target = absl::StrCat("unix:", UnusedSocketPath("late"));
  const std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  const OtaClient client(channel);

  // The gateway starts only once the first attempt has failed, so the call can succeed only
  // through the retry.
  std::unique_ptr<FakeGateway> gateway;
  std::thread starter([&] {
    grpc_connectivity_state state = channel->GetState(false);
    const auto give_up = std::chrono::system_clock::now() + std::chrono::seconds(30);
    while (state != GRPC_CHANNEL_TRANSIENT_FAILURE && channel->WaitForStateChange(state, give_up)) {
      state = channel->GetState(false);
    }
    gateway = std::make_unique<FakeGateway>(target, grpc::InsecureServerCredentials());
    gateway->ReplyWith(std::string("RID-AFTER-RECONNECT"));
  });
  const CancelResult result = client.CancelByJob("job-1", "", absl::Seconds(30));
  starter.join();

  ASSERT_THAT(result, IsOk()) << FormatCallError(*result.error);
  EXPECT_EQ(result.request_id, "RID-AFTER-RECONNECT");
  EXPECT_EQ(gateway->calls().size(), 1u);
}

TEST(OtaClientUnreachableTest, NoTimeLeftForAReconnectReturnsTheConnectError) {
  absl::StatusOr<OtaClient> client =
      OtaClient::Connect(absl::StrCat("unix:", UnusedSocketPath("short")), {});
  ASSERT_THAT(client, IsOk());
  const CancelResult result = client->CancelByJob("job-1", "", absl::Milliseconds(300));
  ASSERT_THAT(result, Not(IsOk()));
  EXPECT_EQ(result.error->code, grpc::StatusCode::UNAVAILABLE) << result.error->message;
}

// --- Connect option checks and TLS -------------------------------------------------------------

TEST(ConnectTest, RejectsUnusableOptions) {
  EXPECT_EQ(OtaClient::Connect("", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OtaClient::Connect("h:1", {.ca_file = "ca.pem"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OtaClient::Connect("h:1", {.use_tls = true, .cert_file = "c.pem"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(OtaClient::Connect("h:1", {.use_tls = true, .key_file = "k.pem"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  const absl::Status missing =
      OtaClient::Connect("h:1", {.use_tls = true, .ca_file = "/nonexistent/ca.pem"}).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.message()), HasSubstr("/nonexistent/ca.pem"));
}

TEST(ConnectTest, TlsWithSystemRootsNeedsNoFiles) {
  EXPECT_THAT(OtaClient::Connect("h:1", {.use_tls = true}), IsOk());
}

// A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with the
// openssl command-line tool so the TLS tests exercise real certificate checks.
class TestPki {
 public:
  TestPki()
      : dir_(std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("ota-client-test-pki-", getpid())) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Write("server.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    Write("client.ext", "extendedKeyUsage=clientAuth\n");
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    ok_ = Run(absl::StrCat("openssl req -x509 ", ec, " -keyout ca.key -out ca.pem -days 2 ",
                           "-subj /CN=ota-client-test-ca")) &&
          Issue("server", ec) && Issue("client", ec);
  }

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  [[nodiscard]] std::string Read(const std::string& name) const {
    std::ifstream in(Path(name));
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  bool Issue(const std::string& who, const std::string& ec) {
    return Run(absl::StrCat("openssl req ", ec, " -keyout ", who, ".key -out ", who,
                            ".csr -subj /CN=", who)) &&
           Run(absl::StrCat("openssl x509 -req -in ", who, ".csr -CA ca.pem -CAkey ca.key ",
                            "-CAcreateserial -days 2 -out ", who, ".pem -extfile ", who, ".ext"));
  }
  bool Run(const std::string& command) const {
    const std::string full =
        absl::StrCat("cd '", dir_.string(), "' && ", command, " >openssl.log 2>&1");
    return std::system(full.c_str()) == 0;  // NOLINT(concurrency-mt-unsafe): setup, one thread
  }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name)) << text;
  }

  std::filesystem::path dir_;
  bool ok_ = false;
};

std::shared_ptr<grpc::ServerCredentials> ServerTls(const TestPki& pki, bool require_client_cert) {
  grpc::SslServerCredentialsOptions options(
      require_client_cert ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                          : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = pki.Read("ca.pem");
  options.pem_key_cert_pairs.push_back({pki.Read("server.key"), pki.Read("server.pem")});
  return grpc::SslServerCredentials(options);
}

TEST(TlsTest, TlsAndMutualTls) {
  TestPki pki;
  ASSERT_THAT(pki, IsOk()) << "openssl failed; see " << pki.Path("openssl.log");

  {
    FakeGateway tls_gateway(ServerTls(pki, /*require_client_cert=*/false));
    ASSERT_NE(tls_gateway.port(), 0);
    tls_gateway.ReplyWith(std::string("RID-TLS"));
    absl::StatusOr<OtaClient> client =
        OtaClient::Connect(tls_gateway.target(), {.use_tls = true, .ca_file = pki.Path("ca.pem")});
    ASSERT_THAT(client, IsOk());
    const CancelResult result = client->CancelByJob("job-1");
    ASSERT_THAT(result, IsOk()) << FormatCallError(*result.error);
    EXPECT_EQ(result.request_id, "RID-TLS");

    // A plaintext client cannot talk to a TLS server.
    absl::StatusOr<OtaClient> plain = OtaClient::Connect(tls_gateway.target(), {});
    ASSERT_THAT(plain, IsOk());
    const CancelResult mismatch = plain->CancelByJob("job-1", "", absl::Seconds(5));
    ASSERT_THAT(mismatch, Not(IsOk()));
    EXPECT_EQ(mismatch.error->code, grpc::StatusCode::UNAVAILABLE);
  }

  FakeGateway mtls_gateway(ServerTls(pki, /*require_client_cert=*/true));
  ASSERT_NE(mtls_gateway.port(), 0);
  absl::StatusOr<OtaClient> without_cert =
      OtaClient::Connect(mtls_gateway.target(), {.use_tls = true, .ca_file = pki.Path("ca.pem")});
  ASSERT_THAT(without_cert, IsOk());
  const CancelResult refused = without_cert->CancelByJob("job-1", "", absl::Seconds(5));
  ASSERT_THAT(refused, Not(IsOk()));
  EXPECT_EQ(refused.error->code, grpc::StatusCode::UNAVAILABLE);

  absl::StatusOr<OtaClient> with_cert =
      OtaClient::Connect(mtls_gateway.target(), {.use_tls = true,
                                                 .ca_file = pki.Path("ca.pem"),
                                                 .cert_file = pki.Path("client.pem"),
                                                 .key_file = pki.Path("client.key")});
  ASSERT_THAT(with_cert, IsOk());
  const CancelResult accepted = with_cert->CancelByJob("job-1");
  ASSERT_THAT(accepted, IsOk()) << FormatCallError(*accepted.error);
  EXPECT_EQ(mtls_gateway.calls().size(), 1u);
}

}  // namespace
}  // namespace ota::client
