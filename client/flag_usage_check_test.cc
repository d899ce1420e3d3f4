#include "client/flag_usage_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "server/testing/status_matchers.h"

ABSL_FLAG(std::string, some_name, "", "A string flag for the test.");
ABSL_FLAG(absl::Duration, wait_for, absl::Seconds(1), "A duration flag for the test.");
ABSL_FLAG(bool, loud, false, "A boolean flag for the test.");

namespace ota::client {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

absl::Status Check(std::vector<std::string> args) {
  std::string program = "prog";
  std::vector<char*> pointers = {program.data()};
  for (std::string& arg : args) pointers.push_back(arg.data());
  return CheckFlagUsage(pointers);
}

std::string MessageOf(const absl::Status& status) { return std::string(status.message()); }

TEST(CheckFlagUsageTest, AcceptsEveryWellFormedSpelling) {
  EXPECT_THAT(Check({"--some_name=a", "--wait_for", "2s", "-some_name", "--x-y", "--loud",
                     "positional", "--noloud", "--loud=false", "--", "--unknown"}),
              IsOk());
}

TEST(CheckFlagUsageTest, LeavesAbseilUsageFlagsToAbseil) {
  EXPECT_THAT(Check({"--help"}), IsOk());
  EXPECT_THAT(Check({"--helpfull"}), IsOk());
  EXPECT_THAT(Check({"--version"}), IsOk());
}

TEST(CheckFlagUsageTest, TheWordAfterAValueFlagIsItsValue) {
  // "--some_name" takes "--bogus" as its value, so only "--bogus2" is left as an unknown flag.
  EXPECT_THAT(MessageOf(Check({"--some_name", "--bogus", "--bogus2"})),
              HasSubstr("unknown flag --bogus2"));
}

TEST(CheckFlagUsageTest, UnknownFlagIsNamedWithHyphens) {
  const absl::Status status = Check({"--some_nam=x"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(MessageOf(status), HasSubstr("unknown flag --some-nam"));
  EXPECT_THAT(Check({"--nosome_name"}), Not(IsOk()));  // --noFLAG is only for booleans
}

TEST(CheckFlagUsageTest, MissingValueIsAnError) {
  EXPECT_THAT(MessageOf(Check({"--wait_for"})), HasSubstr("--wait-for needs a value"));
}

TEST(CheckFlagUsageTest, ValueTheTypeCannotParseIsAnError) {
  EXPECT_THAT(MessageOf(Check({"--wait_for=soon"})),
              HasSubstr("bad value 'soon' for flag --wait-for"));
  EXPECT_THAT(MessageOf(Check({"--wait_for", "soon"})), HasSubstr("bad value 'soon'"));
  EXPECT_THAT(Check({"--loud=maybe"}), Not(IsOk()));
}

TEST(CheckFlagUsageTest, ADurationWithoutAUnitSaysAUnitIsNeeded) {
  EXPECT_THAT(MessageOf(Check({"--wait_for", "5"})),
              HasSubstr("bad value '5' for flag --wait-for: a duration needs a unit, e.g. 5s or "
                        "5ms"));
  EXPECT_THAT(MessageOf(Check({"--wait_for=soon"})),
              HasSubstr("not a duration; write a number with a unit, e.g. 500ms, 10s or 1m"));
}

}  // namespace
}  // namespace ota::client
