// Fuzzes the reading of Alibaba's answer (server/upstream_reply.h) and everything built on it: the
// error mapping (server/error_mapping.h, with fuzzed --error-map overrides) and the gRPC status the
// caller receives (server/grpc_status.h). The endpoint is remote and may be a proxy or an attacker
// on a bad network path, so status, headers and body are all arbitrary. Invariants:
//   - ParseUpstreamReply keeps the HTTP status, never reports success without a 2xx status and a
//     JSON object saying Success=true, and an unparsed body yields no fields;
//   - x-acs-retry-after only ever gives a delay within [0, 60 s];
//   - the mapped outcome is OK exactly when the reply is a success, and an error always has a
//     reason, a domain and a one-line message that keeps the Alibaba Code visible;
//   - the gRPC status agrees with the outcome and its details parse back, with valid UTF-8
//     everywhere (proto3 strings; other languages' runtimes reject anything else).
#include <fuzzer/FuzzedDataProvider.h>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/utf8.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/api/grpc_status.h"
#include "server/call/error_mapping.h"
#include "server/call/upstream_reply.h"

namespace {

bool HasControlCharacter(const std::string& text) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return true;
  }
  return false;
}

bool IsTrueIgnoringCase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text == "true";
}

void CheckGrpcStatus(const ota::CallOutcome& outcome) {
  const grpc::Status status = ota::ToGrpcStatus(outcome);
  FUZZ_CHECK(status.ok() == outcome.ok());
  if (status.ok()) return;
  FUZZ_CHECK(static_cast<int>(status.error_code()) == static_cast<int>(outcome.code));
  google::rpc::Status details;
  FUZZ_CHECK(details.ParseFromString(status.error_details()));
  FUZZ_CHECK(details.code() == static_cast<int>(outcome.code));
  FUZZ_CHECK(ota::fuzz::IsValidUtf8(details.message()));
  bool saw_error_info = false;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    if (any.UnpackTo(&info)) {
      saw_error_info = true;
      FUZZ_CHECK(!info.reason().empty());
      FUZZ_CHECK(ota::fuzz::IsValidUtf8(info.reason()) && ota::fuzz::IsValidUtf8(info.domain()));
      for (const auto& [key, value] : info.metadata()) {
        FUZZ_CHECK(ota::fuzz::IsValidUtf8(key) && ota::fuzz::IsValidUtf8(value));
      }
    }
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&retry)) {
      FUZZ_CHECK(retry.retry_delay().seconds() >= 0 && retry.retry_delay().nanos() >= 0);
    }
    google::rpc::BadRequest bad_request;
    if (any.UnpackTo(&bad_request)) {
      for (const auto& violation : bad_request.field_violations()) {
        FUZZ_CHECK(ota::fuzz::IsValidUtf8(violation.description()));
      }
    }
  }
  FUZZ_CHECK(saw_error_info);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider provider(data, size);
  ota::HttpResponse response;
  // Mostly real-looking statuses, sometimes any int (a broken transport could hand one over).
  response.status = provider.ConsumeBool() ? provider.ConsumeIntegralInRange(100, 599)
                                           : provider.ConsumeIntegral<int>();
  const int header_count = provider.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < header_count; ++i) {
    std::string name = provider.ConsumeBool() ? std::string("x-acs-retry-after")
                                              : provider.ConsumeRandomLengthString(32);
    response.headers.emplace_back(std::move(name), provider.ConsumeRandomLengthString(32));
  }
  const std::string overrides =
      provider.ConsumeBool() ? provider.ConsumeRandomLengthString(200) : std::string();
  response.body = provider.ConsumeRemainingBytesAsString();

  const ota::UpstreamReply reply = ota::ParseUpstreamReply(response);
  FUZZ_CHECK(reply.http_status == response.status);
  if (reply.success) {
    FUZZ_CHECK(reply.parsed);
    FUZZ_CHECK(response.status >= 200 && response.status < 300);
    FUZZ_CHECK(reply.code.empty() && reply.message.empty());
    // The body itself says so (read independently of the parser's helpers).
    const nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    FUZZ_CHECK(body.is_object() && body.contains("Success"));
    const nlohmann::json& flag = body.at("Success");
    FUZZ_CHECK(flag == true || (flag.is_string() && IsTrueIgnoringCase(flag.get<std::string>())));
  }
  if (!reply.parsed) {
    FUZZ_CHECK(!reply.success);
    FUZZ_CHECK(reply.request_id.empty() && reply.code.empty() && reply.message.empty());
  }
  if (reply.retry_after.has_value()) {
    FUZZ_CHECK(*reply.retry_after >= absl::ZeroDuration());
    FUZZ_CHECK(*reply.retry_after <= absl::Seconds(60));
  }

  absl::StatusOr<ota::ErrorMapper> mapper = ota::ErrorMapper::WithOverrides(overrides);
  if (!mapper.ok()) {
    FUZZ_CHECK(mapper.status().code() == absl::StatusCode::kInvalidArgument);
    mapper = ota::ErrorMapper();
  }
  const ota::CallOutcome outcome = mapper->FromReply(reply);
  FUZZ_CHECK(outcome.ok() == reply.success);
  FUZZ_CHECK(outcome.http_status == reply.http_status);
  if (!outcome.ok()) {
    FUZZ_CHECK(!outcome.reason.empty() && !outcome.domain.empty() && !outcome.message.empty());
    if (reply.parsed && !reply.code.empty()) FUZZ_CHECK(outcome.alibaba_code == reply.code);
    FUZZ_CHECK(!HasControlCharacter(outcome.message));
    // One bounded line whatever Alibaba sends: a few fixed sentences, at most 400 bytes of its
    // message and 100 each of its Code and RequestId.
    FUZZ_CHECK(outcome.message.size() < 1500);
    FUZZ_CHECK(ota::fuzz::IsValidUtf8(outcome.message));
    if (outcome.retry_after.has_value()) {
      FUZZ_CHECK(*outcome.retry_after >= absl::ZeroDuration());
      FUZZ_CHECK(*outcome.retry_after <= absl::Seconds(60));
    }
    if (outcome.code == absl::StatusCode::kResourceExhausted) {
      FUZZ_CHECK(outcome.retry_after.has_value());
    }
  }
  CheckGrpcStatus(outcome);
  return 0;
}
