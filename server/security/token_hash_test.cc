#include "server/security/token_hash.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ota {
namespace {

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

TEST(PrintTokenHashTest, HashesTheTokenWithoutItsFinalNewline) {
  std::istringstream in("abc\n");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(PrintTokenHash(in, out, err), 0);
  EXPECT_EQ(out.str(), Sha256Hex("abc") + "\n");
  EXPECT_EQ(err.str(), "");
}

TEST(PrintTokenHashTest, RefusesAnEmptyTokenWithExitTwo) {
  std::istringstream in(" \n");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(PrintTokenHash(in, out, err), 2);
  EXPECT_EQ(out.str(), "");
  EXPECT_NE(err.str().find("no token on stdin"), std::string::npos);
}

}  // namespace
}  // namespace ota
