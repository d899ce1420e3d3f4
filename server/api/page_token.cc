#include "server/api/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/base/sha256.h"

namespace ota {
namespace {

constexpr char kVersion[] = "1";
// 16 bytes of SHA-256 in hex: enough that no other fields match by accident.
constexpr std::size_t kFingerprintHexDigits = 32;
// Longer than any token this gateway issues; anything longer is refused before decoding.
constexpr std::size_t kMaxTokenLength = 128;

}  // namespace

std::string PagingFingerprint(std::string_view firmware_id, std::string_view iot_instance_id,
                              int page_size) {
  // NUL separators: IDs cannot contain one, so no two field sets give the same input.
  std::string input =
      absl::StrCat(absl::string_view(firmware_id.data(), firmware_id.size()), std::string(1, '\0'),
                   absl::string_view(iot_instance_id.data(), iot_instance_id.size()),
                   std::string(1, '\0'), page_size);
  return Sha256Hex(input).substr(0, kFingerprintHexDigits);
}

std::string EncodePageToken(int page, std::string_view fingerprint) {
  return absl::WebSafeBase64Escape(absl::StrCat(
      kVersion, "|", page, "|", absl::string_view(fingerprint.data(), fingerprint.size())));
}

absl::StatusOr<int> DecodePageToken(std::string_view token, std::string_view fingerprint) {
  const absl::Status foreign = absl::InvalidArgumentError(
      "is not a next_page_token this gateway issued; pass the next_page_token of the previous "
      "answer unchanged, or leave it empty for the first page");
  if (token.size() > kMaxTokenLength) return foreign;
  std::string record;
  if (!absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &record)) {
    return foreign;
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(record, '|');
  int page = 0;
  if (parts.size() != 3 || parts[0] != kVersion || !absl::SimpleAtoi(parts[1], &page) || page < 2 ||
      page > kMaxTokenPage || parts[2].size() != kFingerprintHexDigits) {
    return foreign;
  }
  if (parts[2] != absl::string_view(fingerprint.data(), fingerprint.size())) {
    return absl::InvalidArgumentError(
        "was issued for a call with another firmware_id, iot_instance_id or page_size; pass the "
        "same fields as the call that returned it, or leave page_token empty to start over");
  }
  return page;
}

}  // namespace ota
