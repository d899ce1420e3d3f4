#include "server/security/claimed_caller_name.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::ota::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ClaimedCallerNameTest, AbsentIsAnonymous) {
  EXPECT_THAT(ClaimedCallerName(""), IsOk());
  EXPECT_EQ(*ClaimedCallerName(""), "anonymous");
}

TEST(ClaimedCallerNameTest, PlainNamesAreKept) {
  EXPECT_EQ(*ClaimedCallerName("rollout-tool_v2.1"), "rollout-tool_v2.1");
  EXPECT_EQ(*ClaimedCallerName(std::string(64, 'a')), std::string(64, 'a'));
}

TEST(ClaimedCallerNameTest, TooLongOrOddCharactersAreRefusedWithoutEcho) {
  for (const std::string& bad :
       {std::string(65, 'a'), std::string("on call"), std::string("evil\n{\"x\":1}"),
        std::string("caf\xc3\xa9"), std::string("a/b")}) {
    absl::StatusOr<std::string> name = ClaimedCallerName(bad);
    EXPECT_THAT(name, StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
    EXPECT_THAT(name.status().message(), HasSubstr("x-ota-caller"));
    EXPECT_THAT(std::string(name.status().message()), Not(HasSubstr(bad)));
  }
}

}  // namespace
}  // namespace ota
