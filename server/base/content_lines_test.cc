#include "server/base/content_lines.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

auto Line(int number, absl::string_view text) {
  return ::testing::AllOf(Field(&ContentLine::number, number), Field(&ContentLine::text, text));
}

TEST(ContentLinesTest, DropsCommentsAndBlanksAndKeepsLineNumbers) {
  const std::vector<ContentLine> lines = ContentLines("# header\n\n  a,b  \nc # why\r\n   \n#\nd");
  EXPECT_THAT(lines, ElementsAre(Line(3, "a,b"), Line(4, "c"), Line(7, "d")));
}

TEST(ContentLinesTest, EmptyTextHasNoLines) {
  EXPECT_TRUE(ContentLines("").empty());
  EXPECT_TRUE(ContentLines("\n\n# only a comment\n").empty());
}

}  // namespace
}  // namespace ota
