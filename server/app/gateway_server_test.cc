#include "server/app/gateway_server.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"
#include "server/app/gateway_settings.h"
#include "server/testing/child_process.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::ChildProcess;
using ::ota::testing::FreeLoopbackPort;
using ::ota::testing::IsOk;
using ::ota::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// A real iot-emulator process on a free port, with its demo key and demo jobs.
class EmulatorProcess {
 public:
  EmulatorProcess() {
    const int port = FreeLoopbackPort();
    log_ = ::testing::TempDir() + "/gateway_server_test_emulator.log";
    absl::StatusOr<ChildProcess> process = ChildProcess::Start(
        {OTA_BINARY_DIR "/emulator/iot-emulator", absl::StrCat("--listen=127.0.0.1:", port)}, log_);
    EXPECT_THAT(process, IsOk());
    if (process.ok()) process_ = std::make_unique<ChildProcess>(*std::move(process));
    url_ = absl::StrCat("http://127.0.0.1:", port, "/");
  }
  // Until the emulator says it listens (false after 30 s, or when it exited).
  bool WaitUntilListening() {
    for (int i = 0; i < 3000 && process_ != nullptr && process_->running(); ++i) {
      std::ifstream log(log_);
      std::stringstream text;
      text << log.rdbuf();
      if (text.str().find("iot-emulator listening on") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  [[nodiscard]] const std::string& url() const { return url_; }

 private:
  std::string log_;
  std::unique_ptr<ChildProcess> process_;
  std::string url_;
};

// The settings main() would load for these command-line flags.
GatewaySettings SettingsFromFlags(std::vector<std::string> flags) {
  flags.insert(flags.begin(), "gateway_server_test");
  std::vector<char*> argv;
  for (std::string& flag : flags) argv.push_back(flag.data());
  absl::ParseCommandLine(static_cast<int>(argv.size()), argv.data());
  absl::StatusOr<GatewaySettings> settings = LoadGatewaySettings();
  EXPECT_THAT(settings, IsOk());
  return *std::move(settings);
}

// Nothing from this machine's environment (ALIBABA_CLOUD_*, HOME) reaches the credential chain.
std::string NoEnvironment(const char* /*name*/) { return ""; }

TEST(GatewayServerTest, StartsOnAFreePortCancelsAgainstTheEmulatorAndDrains) {
  EmulatorProcess emulator;
  ASSERT_TRUE(emulator.WaitUntilListening());
  absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(
      SettingsFromFlags({"--emulator", "--endpoint=" + emulator.url(), "--listen=127.0.0.1:0",
                         "--admin_listen=127.0.0.1:0", "--log_level=warning"}),
      NoEnvironment);
  ASSERT_THAT(server, IsOk());
  ASSERT_GT((*server)->port(), 0);
  EXPECT_NE((*server)->admin_address().find("127.0.0.1:"), std::string::npos);

  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*server)->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::OtaStrategyService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::CancelByJobRequest request;
  request.set_job_id("demo-dynamic-0001");
  v1::CancelByJobResponse response;
  const grpc::Status status = stub->CancelByJob(&context, request, &response);
  EXPECT_THAT(status, IsOk()) << status.error_code() << ": " << status.error_message();
  EXPECT_FALSE(response.request_id().empty());

  (*server)->Drain(0);
  (*server)->Wait();
}

TEST(GatewayServerTest, RefusesABusyPortInsteadOfSharingIt) {
  // gRPC's default SO_REUSEPORT would let both servers listen and split the connections.
  absl::StatusOr<std::unique_ptr<GatewayServer>> first = GatewayServer::Start(
      SettingsFromFlags({"--emulator", "--endpoint=http://127.0.0.1:9/", "--listen=127.0.0.1:0",
                         "--admin_listen=", "--log_level=error"}),
      NoEnvironment);
  ASSERT_THAT(first, IsOk());
  const std::string busy = absl::StrCat("127.0.0.1:", (*first)->port());
  absl::StatusOr<std::unique_ptr<GatewayServer>> second = GatewayServer::Start(
      SettingsFromFlags({"--emulator", "--endpoint=http://127.0.0.1:9/", "--listen=" + busy,
                         "--admin_listen=", "--log_level=error"}),
      NoEnvironment);
  EXPECT_THAT(
      second,
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr(absl::StrCat("cannot listen on ", busy, ": the port is already in use"))));
  (*first)->Drain(0);
  (*first)->Wait();
}

TEST(GatewayServerTest, RefusesToStartWithoutCredentialsOutsideEmulatorMode) {
  absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(
      SettingsFromFlags({"--emulator=false", "--endpoint=http://127.0.0.1:9/",
                         "--listen=127.0.0.1:0", "--admin_listen=", "--plaintext",
                         "--allow_unauthenticated"}),
      [](const char* name) -> std::string {
        return std::string(name) == "ALIBABA_CLOUD_ECS_METADATA_DISABLED" ? "true" : "";
      });
  ASSERT_THAT(server, Not(IsOk()));
  EXPECT_NE(server.status().message().find("refusing to start"), std::string::npos)
      << server.status();
}

}  // namespace
}  // namespace ota
