// IsValidUtf8: whether bytes are well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).
//
// The harnesses need it because proto3 `string` fields must hold valid UTF-8: the Go and Java
// runtimes refuse to parse a google.rpc.Status whose ErrorInfo carries broken bytes, so the
// details the gateway sends would be lost on exactly the callers that need them.
//
//   FUZZ_CHECK(IsValidUtf8(outcome.message));
#pragma once

#include <cstddef>
#include <string_view>

namespace ota::fuzz {

[[nodiscard]] inline bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    unsigned int min_second = 0x80;
    unsigned int max_second = 0xBF;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) min_second = 0xA0;  // overlong
      if (lead == 0xED) max_second = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) min_second = 0x90;  // overlong
      if (lead == 0xF4) max_second = 0x8F;  // above U+10FFFF
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      const unsigned int low = k == 1 ? min_second : 0x80;
      const unsigned int high = k == 1 ? max_second : 0xBF;
      if (byte < low || byte > high) return false;
    }
    i += length;
  }
  return true;
}

}  // namespace ota::fuzz
