#include "server/api/request_id.h"

#include <string>

#include "gtest/gtest.h"

namespace ota {
namespace {

TEST(SanitizeRequestIdTest, OrdinaryIdsPassUnchanged) {
  EXPECT_EQ(SanitizeRequestId("3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f0a3b"),
            "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f0a3b");
  EXPECT_EQ(SanitizeRequestId("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(SanitizeRequestId(""), "");
}

TEST(SanitizeRequestIdTest, ControlCharactersSpacesAndNonAsciiBecomeUnderscores) {
  EXPECT_EQ(SanitizeRequestId("a\nb\rc\x1b[31md e\x7f"), "a_b_c_[31md_e_");
  EXPECT_EQ(SanitizeRequestId("caf\xc3\xa9"), "caf__");
  EXPECT_EQ(SanitizeRequestId(std::string("x\0y", 3)), "x_y");
}

TEST(SanitizeRequestIdTest, SurroundingWhitespaceIsDropped) {
  EXPECT_EQ(SanitizeRequestId("  id-1 \t\n"), "id-1");
  EXPECT_EQ(SanitizeRequestId(" \t "), "");
}

TEST(SanitizeRequestIdTest, LongIdsAreCut) {
  const std::string id = SanitizeRequestId(std::string(10000, 'a'));
  EXPECT_EQ(id, std::string(kMaxRequestIdLength, 'a'));
}

}  // namespace
}  // namespace ota
