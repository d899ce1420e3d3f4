// OtaClient: the C++ way to call ota-gateway's OtaStrategyService (CancelByJob,
// ListJobsByFirmware).
//
// It sets a deadline on every call (the gateway uses it to decide whether the account's shared
// quota can serve the call in time) and turns a failed call's gRPC status and google.rpc details
// (ErrorInfo, RetryInfo, BadRequest) into one plain CallError, so callers branch on fields instead
// of parsing trailers.
//
//   absl::StatusOr<ota::client::OtaClient> client =
//       ota::client::OtaClient::Connect("ota-gateway:50051", {.use_tls = true, .ca_file =
//       "ca.pem"});
//   if (!client.ok()) return client.status();  // unreadable certificate files and the like
//   ota::client::CancelResult result = client->CancelByJob("HvKuBpuk3rdk6E92CP0200", "iot-cn-xyz");
//   if (result.ok()) {  // cancelled now, or found already cancelled: the goal holds either way
//     std::cout << ota::client::CancelOutcomeText(result.outcome) << ", Alibaba RequestId "
//               << result.request_id << "\n";
//   } else if (result.error->retry_delay) {
//     // RESOURCE_EXHAUSTED / UNAVAILABLE: the same request may succeed after the advertised delay.
//   } else {
//     std::cerr << ota::client::FormatCallError(*result.error) << "\n";
//   }
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ota/v1/ota_strategy_service.grpc.pb.h"

namespace ota::client {

// Used when a call is given no usable timeout: ota-gateway needs a deadline on every call.
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(10);

// How long a call refused because the channel could not connect waits for gRPC to reconnect
// before its one further attempt (gRPC's first reconnect comes after 1 s, +/- 20 % jitter).
inline constexpr absl::Duration kReconnectGrace = absl::Seconds(2);

// How Connect() builds the channel and which credentials every call carries.
// (The `{}` member initializers here and below let callers use designated initializers without
// GCC 12 flagging the members they leave out.)
struct ConnectOptions {
  // false: plaintext (local development, a sidecar that terminates TLS).
  bool use_tls = false;
  // PEM file with the CA certificates that verify the gateway; empty: the system's roots.
  std::string ca_file{};
  // PEM certificate chain and private key presented to the gateway (mTLS). Both or neither.
  std::string cert_file{};
  std::string key_file{};
  // Sent as `authorization: Bearer <token>` metadata on every call when not empty.
  std::string bearer_token{};
};

// One field the gateway rejected (google.rpc.BadRequest.FieldViolation).
struct FieldViolation {
  std::string field{};
  std::string description{};

  friend bool operator==(const FieldViolation&, const FieldViolation&) = default;
};

// A failed call, decoded from the gRPC status and its google.rpc.Status details. Detail fields the
// server did not send stay empty (0 for http_status).
struct CallError {
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  std::string message{};
  // google.rpc.ErrorInfo: a stable UPPER_SNAKE_CASE reason and who produced the error
  // ("iot.aliyuncs.com" for Alibaba, "ota-gateway" for the gateway itself).
  std::string reason{};
  std::string domain{};
  // ErrorInfo.metadata, present when Alibaba answered.
  std::string alibaba_code{};
  std::string alibaba_request_id{};
  int http_status = 0;
  // google.rpc.RetryInfo: set only when retrying the same request later can succeed.
  std::optional<absl::Duration> retry_delay{};
  // google.rpc.BadRequest, on INVALID_ARGUMENT.
  std::vector<FieldViolation> field_violations{};
};

// The result of one CancelByJob call: request_id and outcome on success, error otherwise.
struct CancelResult {
  std::string request_id{};  // Alibaba's RequestId of the request that established the outcome
  // CANCEL_OUTCOME_CANCELLED: this call cancelled the policy; CANCEL_OUTCOME_ALREADY_CANCELLED: it
  // was already cancelled (earlier attempt, earlier call, anyone else). UNSPECIFIED from gateways
  // older than contract 0.3.0, and on failure.
  ota::v1::CancelOutcome outcome = ota::v1::CANCEL_OUTCOME_UNSPECIFIED;
  std::optional<CallError> error{};

  [[nodiscard]] bool ok() const { return !error.has_value(); }
};

// One page of ListJobsByFirmware: the gateway's response on success, error otherwise.
struct ListJobsResult {
  ota::v1::ListJobsByFirmwareResponse response{};
  std::optional<CallError> error{};

  [[nodiscard]] bool ok() const { return !error.has_value(); }
};

// Decodes a non-OK status. Malformed or missing details leave the detail fields empty rather than
// failing: the code and message alone are still worth reporting. A failed TLS handshake (say, a
// TLS client at a plaintext port) gets a message saying what to do, gRPC's words in parentheses.
[[nodiscard]] CallError DecodeCallError(const grpc::Status& status);

// "cancelled", "already cancelled"; an old gateway's UNSPECIFIED success reads "cancelled".
[[nodiscard]] std::string CancelOutcomeText(ota::v1::CancelOutcome outcome);

// The status code's canonical name, for example "RESOURCE_EXHAUSTED".
[[nodiscard]] std::string StatusCodeName(grpc::StatusCode code);

// One readable line, for example:
//   NOT_FOUND: the batch does not exist (reason=JOB_NOT_FOUND domain=iot.aliyuncs.com
//   alibaba_code=iot.ota.JobNotFound alibaba_request_id=4C9B... http_status=200)
// Only the fields that are set appear inside the parentheses.
[[nodiscard]] std::string FormatCallError(const CallError& error);

class OtaClient {
 public:
  // Wraps an existing channel. `bearer_token` as in ConnectOptions.
  explicit OtaClient(const std::shared_ptr<grpc::ChannelInterface>& channel,
                     std::string bearer_token = {});

  // Builds a channel to `target` ("host:port", or any gRPC target URI). Fails with
  // INVALID_ARGUMENT or NOT_FOUND when the options or the certificate files are unusable; never
  // contacts the gateway (the first call does).
  [[nodiscard]] static absl::StatusOr<OtaClient> Connect(const std::string& target,
                                                         const ConnectOptions& options);

  // Cancels the dynamic update policy of batch `job_id`. `iot_instance_id` may be empty (old public
  // instance). A timeout that is not positive and finite is replaced by kDefaultTimeout, so the
  // call always carries a deadline. Blocks until the gateway answers or the deadline passes.
  //
  // A call that fails because the channel could not connect (UNAVAILABLE, the channel not READY
  // before the call and in TRANSIENT_FAILURE after it) never reached the gateway, so it is tried
  // once more after gRPC's reconnect, waiting at most kReconnectGrace and never past the
  // deadline. That rides out a gateway replica restarting. An UNAVAILABLE the gateway itself
  // returned is never retried here: the call may already have reached Alibaba.
  [[nodiscard]] CancelResult CancelByJob(std::string_view job_id,
                                         std::string_view iot_instance_id = {},
                                         absl::Duration timeout = kDefaultTimeout) const;

  // Reads one page of the update batches of a firmware. Pass the previous answer's
  // `next_page_token` (with the same other fields) to read the next page; the last page has an
  // empty one. The timeout is handled as in CancelByJob, and so is a call that never reached the
  // gateway (tried once more after gRPC's reconnect). Listing changes nothing at Alibaba, so any
  // failed call may be repeated.
  [[nodiscard]] ListJobsResult ListJobsByFirmware(const ota::v1::ListJobsByFirmwareRequest& request,
                                                  absl::Duration timeout = kDefaultTimeout) const;

 private:
  // Makes one call through `invoke` (one stub method), and once more when the channel could not
  // connect (see CancelByJob).
  template <typename Invoke>
  [[nodiscard]] grpc::Status CallWithReconnect(absl::Duration timeout, Invoke invoke) const;
  void PrepareContext(grpc::ClientContext& context, absl::Time deadline) const;

  std::shared_ptr<grpc::ChannelInterface> channel_;
  std::unique_ptr<ota::v1::OtaStrategyService::StubInterface> stub_;
  std::string bearer_token_;
};

}  // namespace ota::client
