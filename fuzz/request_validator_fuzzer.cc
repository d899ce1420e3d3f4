// Fuzzes request validation, the first code a caller's bytes reach (server/request_validator.h).
//
// The input is either a serialized CancelByJobRequest (as it arrives on the wire, unknown fields
// and all) or, when it does not parse, two raw field values cut from it. Invariants:
//   - the verdict agrees with an independent reading of the rule (1-64 of A-Z a-z 0-9 _ -);
//   - a rejection is INVALID_ARGUMENT naming exactly the bad fields, with a printable-ASCII
//     message that never echoes the offending value;
//   - its gRPC form carries details that parse back with the same code.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "fuzz/utf8.h"
#include "google/protobuf/stubs/logging.h"
#include "google/rpc/status.pb.h"
#include "ota/v1/ota_strategy_service.pb.h"
#include "server/api/grpc_status.h"
#include "server/api/request_validator.h"

namespace {

bool IsAllowedId(std::string_view value) {
  if (value.empty() || value.size() > 64) return false;
  for (char c : value) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                         (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// 'a' for an allowed character, '!' for any other.
std::string Shape(std::string_view value) {
  std::string shape;
  shape.reserve(value.size());
  for (char c : value) shape.push_back(IsAllowedId(std::string_view(&c, 1)) ? 'a' : '!');
  return shape;
}

void CheckRequest(const ota::v1::CancelByJobRequest& request) {
  const std::string& job_id = request.job_id();
  const std::string& instance = request.iot_instance_id();
  const bool job_ok = IsAllowedId(job_id);
  const bool instance_ok = instance.empty() || IsAllowedId(instance);

  const std::optional<ota::CallOutcome> outcome = ota::ValidateCancelByJobRequest(request);
  FUZZ_CHECK(outcome.has_value() == !(job_ok && instance_ok));
  if (!outcome.has_value()) return;

  FUZZ_CHECK(outcome->code == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(!outcome->retryable);
  FUZZ_CHECK(outcome->field_violations.count("job_id") == (job_ok ? 0U : 1U));
  FUZZ_CHECK(outcome->field_violations.count("iot_instance_id") == (instance_ok ? 0U : 1U));
  FUZZ_CHECK(IsPrintableAscii(outcome->message));
  // The message explains the rule and never repeats what the caller sent: it depends only on
  // the values' shape (length, where the bad characters are), so a twin request with every
  // character replaced by a stand-in of the same class gets the very same message.
  ota::v1::CancelByJobRequest twin;
  twin.set_job_id(Shape(job_id));
  twin.set_iot_instance_id(Shape(instance));
  const std::optional<ota::CallOutcome> twin_outcome = ota::ValidateCancelByJobRequest(twin);
  FUZZ_CHECK(twin_outcome.has_value() && twin_outcome->message == outcome->message);

  const grpc::Status status = ota::ToGrpcStatus(*outcome);
  FUZZ_CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  FUZZ_CHECK(details.ParseFromString(status.error_details()));
  FUZZ_CHECK(details.code() == static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  FUZZ_CHECK(details.details_size() >= 2);  // ErrorInfo and BadRequest
  FUZZ_CHECK(ota::fuzz::IsValidUtf8(details.message()));
}

}  // namespace

// Protobuf logs every proto3 string with invalid UTF-8 it refuses; the refusal itself is what
// the harness checks, and a line per input would drown libFuzzer's own output.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ota::v1::CancelByJobRequest request;
  if (request.ParseFromArray(data, static_cast<int>(size))) {
    CheckRequest(request);
    // What the server parsed it serializes back to an equal message.
    ota::v1::CancelByJobRequest again;
    FUZZ_CHECK(again.ParseFromString(request.SerializeAsString()));
    FUZZ_CHECK(again.job_id() == request.job_id());
    FUZZ_CHECK(again.iot_instance_id() == request.iot_instance_id());
  }
  // The same bytes as two raw field values: the wire decoder refuses invalid UTF-8 in proto3
  // strings, but a C++ caller linking the service in-process could still set any bytes.
  FuzzedDataProvider provider(data, size);
  ota::v1::CancelByJobRequest raw;
  raw.set_job_id(provider.ConsumeRandomLengthString(100));
  raw.set_iot_instance_id(provider.ConsumeRemainingBytesAsString());
  CheckRequest(raw);
  return 0;
}
