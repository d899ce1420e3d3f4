// Fuzzes ListJobsByFirmware's request validation and its page tokens
// (server/api/request_validator.h, server/api/page_token.h): a caller's bytes, the token included,
// are the first thing they read.
//
// The input is either a serialized ListJobsByFirmwareRequest or, parsed or not, raw field values
// cut from it (any bytes, as an in-process C++ caller could set them). Invariants:
//   - a valid request reads as page 1 without a token and page 2..kMaxTokenPage with one, and a
//     page size of 1..200 (0 = 50);
//   - the next page's token, issued for the same fields, leads to exactly the next page, and is
//     refused with any other firmware_id;
//   - a rejection is INVALID_ARGUMENT naming only known fields, with the field's own reason when
//     one field is bad, a printable-ASCII message, one of two fixed explanations for a refused
//     token (so never an echo of it), and gRPC details that parse back.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "google/rpc/status.pb.h"
#include "ota/v1/ota_strategy_service.pb.h"
#include "server/api/grpc_status.h"
#include "server/api/page_token.h"
#include "server/api/request_validator.h"

namespace {

bool IsPrintableAscii(std::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

void CheckRequest(const ota::v1::ListJobsByFirmwareRequest& request) {
  std::variant<ota::ListJobsPaging, ota::CallOutcome> checked =
      ota::ValidateListJobsByFirmwareRequest(request);
  if (const auto* paging = std::get_if<ota::ListJobsPaging>(&checked)) {
    FUZZ_CHECK(paging->page_size >= 1 && paging->page_size <= 200);
    FUZZ_CHECK(request.page_size() >= 0);
    FUZZ_CHECK(request.page_size() != 0 || paging->page_size == 50);
    if (request.page_token().empty()) {
      FUZZ_CHECK(paging->page == 1);
    } else {
      FUZZ_CHECK(paging->page >= 2 && paging->page <= ota::kMaxTokenPage);
    }
    if (paging->page < ota::kMaxTokenPage) {
      ota::v1::ListJobsByFirmwareRequest next = request;
      next.set_page_token(ota::EncodePageToken(paging->page + 1, paging->fingerprint));
      std::variant<ota::ListJobsPaging, ota::CallOutcome> next_checked =
          ota::ValidateListJobsByFirmwareRequest(next);
      FUZZ_CHECK(std::holds_alternative<ota::ListJobsPaging>(next_checked));
      FUZZ_CHECK(std::get<ota::ListJobsPaging>(next_checked).page == paging->page + 1);
      next.set_firmware_id(request.firmware_id() + "x");
      next_checked = ota::ValidateListJobsByFirmwareRequest(next);
      FUZZ_CHECK(std::holds_alternative<ota::CallOutcome>(next_checked));
    }
    return;
  }
  const ota::CallOutcome& outcome = std::get<ota::CallOutcome>(checked);
  FUZZ_CHECK(outcome.code == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(!outcome.field_violations.empty());
  for (const auto& [field, problem] : outcome.field_violations) {
    FUZZ_CHECK(field == "firmware_id" || field == "iot_instance_id" || field == "page_size" ||
               field == "page_token");
    FUZZ_CHECK(!problem.empty());
  }
  if (outcome.field_violations.size() > 1) FUZZ_CHECK(outcome.reason == "INVALID_REQUEST");
  if (outcome.field_violations.count("page_token") == 1 && outcome.field_violations.size() == 1) {
    FUZZ_CHECK(outcome.reason == "INVALID_PAGE_TOKEN");
  }
  FUZZ_CHECK(IsPrintableAscii(outcome.message));
  // A refused token gets one of two fixed explanations, whatever its bytes: never an echo of it.
  if (auto it = outcome.field_violations.find("page_token"); it != outcome.field_violations.end()) {
    const std::string fingerprint = ota::PagingFingerprint("f", "", 1);
    const std::string foreign(ota::DecodePageToken("!", fingerprint).status().message());
    const std::string other_fields(
        ota::DecodePageToken(ota::EncodePageToken(2, ota::PagingFingerprint("g", "", 1)),
                             fingerprint)
            .status()
            .message());
    FUZZ_CHECK(it->second == foreign || it->second == other_fields);
  }
  const grpc::Status status = ota::ToGrpcStatus(outcome);
  FUZZ_CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  FUZZ_CHECK(details.ParseFromString(status.error_details()));
  FUZZ_CHECK(details.details_size() >= 2);  // ErrorInfo and BadRequest
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ota::v1::ListJobsByFirmwareRequest request;
  if (request.ParseFromArray(data, static_cast<int>(size))) CheckRequest(request);
  FuzzedDataProvider provider(data, size);
  ota::v1::ListJobsByFirmwareRequest raw;
  raw.set_page_size(provider.ConsumeIntegral<std::int32_t>());
  raw.set_firmware_id(provider.ConsumeRandomLengthString(80));
  raw.set_iot_instance_id(provider.ConsumeRandomLengthString(80));
  raw.set_page_token(provider.ConsumeRemainingBytesAsString());
  CheckRequest(raw);
  return 0;
}
