#include "server/base/sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace ota {
namespace {

// FIPS 180-2 / NIST published SHA-256 test vectors.
TEST(Sha256HexTest, MatchesPublishedVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256HexTest, AppendsAfterWhatIsThere) {
  std::string out = "prefix:";
  AppendSha256Hex(out, "abc");
  EXPECT_EQ(out, "prefix:" + Sha256Hex("abc"));
}

TEST(AppendLowerHexTest, TwoLowercaseDigitsPerByte) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  std::string out;
  AppendLowerHex(out, bytes, sizeof(bytes));
  EXPECT_EQ(out, "000fa5ff");
}

}  // namespace
}  // namespace ota
