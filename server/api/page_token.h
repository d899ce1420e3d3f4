// PageToken: ListJobsByFirmware's opaque `page_token` (AIP-158).
//
// A token is base64url (no padding) of a versioned record "1|<Alibaba page>|<fingerprint>", where
// the fingerprint is a SHA-256 prefix of the request fields the paging depends on (firmware_id,
// iot_instance_id, the page size in force). A token reused with other fields, or made up, is
// refused (INVALID_PAGE_TOKEN) rather than silently reading another listing's page. The token
// carries no secret and needs none: a caller may ask for any page of what it may list anyway.
//
//   std::string token = ota::EncodePageToken(2, ota::PagingFingerprint("fw-1", "", 200));
//   absl::StatusOr<int> page = ota::DecodePageToken(token, ota::PagingFingerprint("fw-1", "",
//   200));
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace ota {

// The highest Alibaba page a token may name: far beyond any firmware's batches, well within int.
inline constexpr int kMaxTokenPage = 1'000'000;

[[nodiscard]] std::string PagingFingerprint(std::string_view firmware_id,
                                            std::string_view iot_instance_id, int page_size);

// `page` (2..kMaxTokenPage) is the Alibaba CurrentPage the token leads to.
[[nodiscard]] std::string EncodePageToken(int page, std::string_view fingerprint);

// The page a token leads to; INVALID_ARGUMENT saying why when it is not one of this gateway's
// tokens or was issued for other request fields. Never fails otherwise, whatever the bytes.
[[nodiscard]] absl::StatusOr<int> DecodePageToken(std::string_view token,
                                                  std::string_view fingerprint);

}  // namespace ota
