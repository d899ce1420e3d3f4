// Bearer-token hashing: tokens are configured as SHA-256 hashes, never in plaintext, so the callers
// file can be read by an operator (or leak) without handing out credentials.
//
//   std::string hash = ota::Sha256Hex("the-token");     // 64 lowercase hex digits
//   if (ota::ConstantTimeEquals(hash, configured_hash)) { /* known token */ }
//
// `ota-gateway --hash-token < token.txt` prints the hash to put in the callers file.
#pragma once

#include <iosfwd>
#include <string>

#include "absl/strings/string_view.h"
#include "server/base/sha256.h"  // Sha256Hex: the form token hashes are configured in

namespace ota {

// Whether `text` is 64 hexadecimal digits (either case), i.e. looks like a SHA-256 hash.
[[nodiscard]] bool IsSha256Hex(absl::string_view text);

// Equality whose running time does not depend on where the inputs differ (only on their length),
// so a caller cannot learn a configured hash byte by byte from response times.
[[nodiscard]] bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// `ota-gateway --hash-token`: reads a token from `in` (surrounding whitespace, such as a token
// file's final newline, is not part of it) and writes its Sha256Hex line to `out`. Returns the exit
// status: 0, or 2 with a message on `err` when `in` holds no token.
[[nodiscard]] int PrintTokenHash(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace ota
