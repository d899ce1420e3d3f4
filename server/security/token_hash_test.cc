#include "server/security/token_hash.h"

#include <gtest/gtest.h>

namespace ota {
namespace {

// FIPS 180-2 / NIST published SHA-256 test vectors.
TEST(Sha256HexTest, MatchesPublishedVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(IsSha256HexTest, AcceptsOnly64HexDigits) {
  EXPECT_TRUE(IsSha256Hex(Sha256Hex("token")));
  EXPECT_TRUE(IsSha256Hex("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  EXPECT_FALSE(IsSha256Hex(""));
  EXPECT_FALSE(IsSha256Hex("e3b0c442"));
  EXPECT_FALSE(IsSha256Hex("g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  EXPECT_FALSE(IsSha256Hex(Sha256Hex("x") + "0"));
}

TEST(ConstantTimeEqualsTest, ComparesWholeContentsAndLength) {
  const std::string hash = Sha256Hex("token");
  EXPECT_TRUE(ConstantTimeEquals(hash, Sha256Hex("token")));
  std::string last_differs = hash;
  last_differs.back() = last_differs.back() == '0' ? '1' : '0';
  EXPECT_FALSE(ConstantTimeEquals(hash, last_differs));
  std::string first_differs = hash;
  first_differs.front() = first_differs.front() == '0' ? '1' : '0';
  EXPECT_FALSE(ConstantTimeEquals(hash, first_differs));
  EXPECT_FALSE(ConstantTimeEquals(hash, hash.substr(0, 63)));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace ota
