// SHA-256 in lowercase hex: the form of ACS3-HMAC-SHA256's hashed canonical request and payload
// hash, and of the callers file's token hashes.
//
//   std::string hash = ota::Sha256Hex("the-token");  // 64 lowercase hex digits
//   ota::AppendSha256Hex(canonical_hash, canonical_request);
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ota {

// Appends SHA-256 of `data` as 64 lowercase hex digits. It reuses a per-thread digest context, so
// the signing hot path pays for no allocation and no algorithm look-up.
void AppendSha256Hex(std::string& out, std::string_view data);

[[nodiscard]] std::string Sha256Hex(std::string_view data);

// Appends `size` bytes as lowercase hex, two digits a byte.
void AppendLowerHex(std::string& out, const unsigned char* data, std::size_t size);

}  // namespace ota
