// FakeGateway: an in-process OtaStrategyService on 127.0.0.1 for tests of the client library and
// the ota-cancel CLI. It answers every call with a scripted reply and records what it received, so
// tests see exactly what crossed the wire (deadline, metadata, request) in both directions.
//
//   ota::testing::FakeGateway gateway;
//   gateway.ReplyWith(ota::testing::DetailedStatus(grpc::StatusCode::NOT_FOUND, "no such batch",
//                                                 {&error_info}));
//   ota::client::OtaClient client(gateway.NewChannel());
//   CancelResult result = client.CancelByJob("job-1");
//   EXPECT_EQ(gateway.calls().at(0).request.job_id(), "job-1");
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/support/status.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"

namespace ota::testing {

// A status whose google.rpc.Status details hold `details` (ErrorInfo, RetryInfo, BadRequest, ...),
// built the way a gRPC server attaches them.
[[nodiscard]] grpc::Status DetailedStatus(
    grpc::StatusCode code, const std::string& message,
    std::initializer_list<const google::protobuf::Message*> details);

class FakeGateway {
 public:
  struct ReceivedCall {
    ota::v1::CancelByJobRequest request;
    // How far in the future the caller's deadline was when the call arrived.
    absl::Duration deadline_in;
    std::string authorization;  // the `authorization` metadata value, empty when absent
  };

  // Serves plaintext unless other credentials are given (TLS tests), on a free 127.0.0.1 port.
  explicit FakeGateway(
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials());
  // Serves on `listen_address`: "unix:/path" for a gateway that appears at a known target later.
  FakeGateway(const std::string& listen_address,
              std::shared_ptr<grpc::ServerCredentials> credentials);
  ~FakeGateway();
  FakeGateway(const FakeGateway&) = delete;
  FakeGateway& operator=(const FakeGateway&) = delete;

  // Success with this RequestId (the initial reply is success with "fake-request-id").
  void ReplyWith(std::string request_id);
  // Success with this RequestId and outcome.
  void ReplyWith(std::string request_id, ota::v1::CancelOutcome outcome);
  // Failure with this status.
  void ReplyWith(grpc::Status status);
  // Calls are not answered until the caller gives up (deadline or cancellation).
  void HoldCalls();

  // ListJobsByFirmware serves these batches (for any firmware), `page_size` at a time (0: 50), the
  // page token being the offset of the next page as text. Initially none.
  void ListJobs(std::vector<ota::v1::OtaJob> jobs);
  // ListJobsByFirmware fails with this status (OK: serve the listed jobs again).
  void FailListWith(grpc::Status status);
  [[nodiscard]] std::vector<ota::v1::ListJobsByFirmwareRequest> list_calls() const;

  // Not 0 once the server listens.
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] const std::string& target() const { return target_; }
  [[nodiscard]] std::shared_ptr<grpc::Channel> NewChannel() const;
  [[nodiscard]] std::vector<ReceivedCall> calls() const;

 private:
  class Service;

  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string target_;
};

}  // namespace ota::testing
