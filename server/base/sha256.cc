#include "server/base/sha256.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace ota {
namespace {

[[noreturn]] void DigestUnavailable(const char* what) {
  // Without a working digest nothing can be signed or checked: a broken OpenSSL installation, not
  // a condition a caller could handle.
  std::fprintf(stderr, "ota: OpenSSL cannot provide %s\n", what);
  std::abort();
}

// Fetched once: algorithm objects are immutable and shared safely between threads.
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) DigestUnavailable("SHA-256");
  return md;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

void AppendLowerHex(std::string& out, const unsigned char* data, std::size_t size) {
  static constexpr char kHexLower[] = "0123456789abcdef";
  for (std::size_t i = 0; i < size; ++i) {
    const char pair[2] = {kHexLower[data[i] >> 4], kHexLower[data[i] & 0xF]};
    out.append(pair, 2);
  }
}

void AppendSha256Hex(std::string& out, std::string_view data) {
  thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) DigestUnavailable("a digest context");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestInit_ex2(ctx.get(), Sha256Algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1) {
    DigestUnavailable("a SHA-256 digest");
  }
  AppendLowerHex(out, digest, length);
}

std::string Sha256Hex(std::string_view data) {
  std::string out;
  out.reserve(64);
  AppendSha256Hex(out, data);
  return out;
}

}  // namespace ota
