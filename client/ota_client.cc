#include "client/ota_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace ota::client {
namespace {

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", what, " file '", path, "'"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read ", what, " file '", path, "'"));
  }
  if (contents.str().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " file '", path, "' is empty"));
  }
  return contents.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> BuildCredentials(
    const ConnectOptions& options) {
  if (!options.use_tls) {
    // Certificate files without TLS are a configuration mistake the caller wants to hear about,
    // not a silent downgrade to plaintext.
    if (!options.ca_file.empty() || !options.cert_file.empty() || !options.key_file.empty()) {
      return absl::InvalidArgumentError("CA, certificate and key files need TLS to be enabled");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError(
        "mTLS needs both a client certificate file and a private key file");
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile(options.ca_file, "CA certificate");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *std::move(ca);
  }
  if (!options.cert_file.empty()) {
    absl::StatusOr<std::string> cert = ReadPemFile(options.cert_file, "client certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(options.key_file, "client private key");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

absl::Duration ToAbslDuration(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

void ApplyErrorInfo(const google::rpc::ErrorInfo& info, CallError& error) {
  error.reason = info.reason();
  error.domain = info.domain();
  const auto& metadata = info.metadata();
  if (auto it = metadata.find("alibaba_code"); it != metadata.end())
    error.alibaba_code = it->second;
  if (auto it = metadata.find("alibaba_request_id"); it != metadata.end()) {
    error.alibaba_request_id = it->second;
  }
  if (auto it = metadata.find("http_status"); it != metadata.end()) {
    int http_status = 0;
    if (absl::SimpleAtoi(it->second, &http_status)) error.http_status = http_status;
  }
}

}  // namespace

CallError DecodeCallError(const grpc::Status& status) {
  CallError error;
  error.code = status.error_code();
  error.message = status.error_message();
  // gRPC's own words for a TLS client meeting a plaintext port (or an unknown CA) name OpenSSL
  // internals; say what to do first.
  if (error.code == grpc::StatusCode::UNAVAILABLE &&
      absl::StrContains(absl::AsciiStrToLower(error.message), "handshake failed")) {
    error.message = absl::StrCat(
        "the TLS handshake with the gateway failed: if it serves plaintext, connect without TLS "
        "(ota-cancel: leave out --tls); otherwise check that the CA file holds the CA that signed "
        "the gateway's certificate (gRPC: ",
        error.message, ")");
  }
  if (status.error_details().empty()) return error;

  google::rpc::Status details;
  if (!details.ParseFromString(status.error_details())) return error;
  if (error.message.empty()) error.message = details.message();
  for (const google::protobuf::Any& any : details.details()) {
    if (google::rpc::ErrorInfo info; any.UnpackTo(&info)) {
      ApplyErrorInfo(info, error);
    } else if (google::rpc::RetryInfo retry; any.UnpackTo(&retry)) {
      if (retry.has_retry_delay()) error.retry_delay = ToAbslDuration(retry.retry_delay());
    } else if (google::rpc::BadRequest bad; any.UnpackTo(&bad)) {
      for (const auto& violation : bad.field_violations()) {
        error.field_violations.push_back({violation.field(), violation.description()});
      }
    }
    // Other detail types are newer than this client; the code and message still say enough.
  }
  return error;
}

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC and Abseil share the canonical code numbers and names.
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string FormatCallError(const CallError& error) {
  std::vector<std::string> parts;
  if (!error.reason.empty()) parts.push_back(absl::StrCat("reason=", error.reason));
  if (!error.domain.empty()) parts.push_back(absl::StrCat("domain=", error.domain));
  if (!error.alibaba_code.empty())
    parts.push_back(absl::StrCat("alibaba_code=", error.alibaba_code));
  if (!error.alibaba_request_id.empty()) {
    parts.push_back(absl::StrCat("alibaba_request_id=", error.alibaba_request_id));
  }
  if (error.http_status != 0) parts.push_back(absl::StrCat("http_status=", error.http_status));
  if (error.retry_delay) {
    parts.push_back(absl::StrCat("retry_after=", absl::FormatDuration(*error.retry_delay)));
  }
  if (!error.field_violations.empty()) {
    parts.push_back(absl::StrCat(
        "field_violations=[",
        absl::StrJoin(error.field_violations, "; ",
                      [](std::string* out, const FieldViolation& violation) {
                        absl::StrAppend(out, violation.field, ": ", violation.description);
                      }),
        "]"));
  }
  std::string line = absl::StrCat(StatusCodeName(error.code), ": ", error.message);
  if (!parts.empty()) absl::StrAppend(&line, " (", absl::StrJoin(parts, " "), ")");
  return line;
}

std::string CancelOutcomeText(ota::v1::CancelOutcome outcome) {
  return outcome == ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED ? "already cancelled" : "cancelled";
}

OtaClient::OtaClient(const std::shared_ptr<grpc::ChannelInterface>& channel,
                     std::string bearer_token)
    : channel_(channel),
      stub_(ota::v1::OtaStrategyService::NewStub(channel)),
      bearer_token_(std::move(bearer_token)) {}

absl::StatusOr<OtaClient> OtaClient::Connect(const std::string& target,
                                             const ConnectOptions& options) {
  if (target.empty()) return absl::InvalidArgumentError("the gateway target is empty");
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = BuildCredentials(options);
  if (!credentials.ok()) return credentials.status();
  return OtaClient(grpc::CreateChannel(target, *credentials), options.bearer_token);
}

void OtaClient::PrepareContext(grpc::ClientContext& context, absl::Time deadline) const {
  context.set_deadline(absl::ToChronoTime(deadline));
  if (!bearer_token_.empty()) {
    // Per-call metadata rather than call credentials: gRPC refuses call credentials on plaintext
    // channels, and a token is still useful behind a TLS-terminating sidecar.
    context.AddMetadata("authorization", absl::StrCat("Bearer ", bearer_token_));
  }
}

template <typename Invoke>
grpc::Status OtaClient::CallWithReconnect(absl::Duration timeout, Invoke invoke) const {
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    timeout = kDefaultTimeout;
  }
  const absl::Time deadline = absl::Now() + timeout;
  const grpc_connectivity_state before = channel_->GetState(/*try_to_connect=*/false);
  grpc::Status status;
  {
    grpc::ClientContext context;
    PrepareContext(context, deadline);
    status = invoke(context);
  }

  // gRPC fails a call at once when the channel's connection attempt failed; such a call was never
  // written to any connection, so one more attempt cannot cancel twice. A channel that was READY
  // may have carried the call before its connection broke, so that case is left alone. Besides a
  // restarting gateway, this covers a gRPC 1.51 defect: its TCP client reads errno after other
  // calls that may change it, so a healthy non-blocking connect can be reported as failed ("No
  // such file or directory"), seen in our sanitizer runs.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE && before != GRPC_CHANNEL_READY &&
      channel_->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    // The channel stays in TRANSIENT_FAILURE until a connection is READY, so wait for READY with a
    // bound; then try again either way: the second failure carries the latest connect error.
    (void)channel_->WaitForConnected(
        absl::ToChronoTime(std::min(deadline, absl::Now() + kReconnectGrace)));
    if (absl::Now() < deadline) {
      grpc::ClientContext context;
      PrepareContext(context, deadline);
      status = invoke(context);
    }
  }
  return status;
}

CancelResult OtaClient::CancelByJob(std::string_view job_id, std::string_view iot_instance_id,
                                    absl::Duration timeout) const {
  ota::v1::CancelByJobRequest request;
  request.set_job_id(std::string(job_id));
  request.set_iot_instance_id(std::string(iot_instance_id));
  ota::v1::CancelByJobResponse response;
  const grpc::Status status = CallWithReconnect(timeout, [&](grpc::ClientContext& context) {
    response.Clear();
    return stub_->CancelByJob(&context, request, &response);
  });

  CancelResult result;
  if (status.ok()) {
    result.request_id = response.request_id();
    result.outcome = response.outcome();
  } else {
    result.error = DecodeCallError(status);
  }
  return result;
}

ListJobsResult OtaClient::ListJobsByFirmware(const ota::v1::ListJobsByFirmwareRequest& request,
                                             absl::Duration timeout) const {
  ListJobsResult result;
  const grpc::Status status = CallWithReconnect(timeout, [&](grpc::ClientContext& context) {
    result.response.Clear();
    return stub_->ListJobsByFirmware(&context, request, &result.response);
  });
  if (!status.ok()) {
    result.response.Clear();
    result.error = DecodeCallError(status);
  }
  return result;
}

}  // namespace ota::client
