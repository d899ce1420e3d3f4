#include "server/security/token_hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cstddef>
#include <istream>
#include <ostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace ota {

bool IsSha256Hex(absl::string_view text) {
  if (text.size() != std::size_t{2} * SHA256_DIGEST_LENGTH) return false;
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // The lengths are not secret (every configured hash has 64 digits); the contents are.
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int PrintTokenHash(std::istream& in, std::ostream& out, std::ostream& err) {
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();  // owns what `token` views
  const absl::string_view token = absl::StripAsciiWhitespace(all);
  if (token.empty()) {
    err << "ota-gateway: --hash-token: no token on stdin\n";
    return 2;
  }
  out << Sha256Hex(std::string_view(token.data(), token.size())) << "\n";
  return 0;
}

}  // namespace ota
