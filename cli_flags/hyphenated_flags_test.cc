#include "cli_flags/hyphenated_flags.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

std::vector<std::string> Normalize(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::vector<std::string> storage;
  std::vector<char*> out = NormalizeFlagNames(static_cast<int>(argv.size()), argv.data(), storage);
  return {out.begin(), out.end()};
}

TEST(HyphenatedFlagsTest, RewritesOnlyTheNamePart) {
  EXPECT_THAT(
      Normalize({"prog", "--job-id=a-b-c", "--iot-instance-id", "x-y", "-max-wait=1s"}),
      ::testing::ElementsAre("prog", "--job_id=a-b-c", "--iot_instance_id", "x-y", "-max_wait=1s"));
}

TEST(HyphenatedFlagsTest, LeavesProgramNameValuesAndTerminatedArgsAlone) {
  EXPECT_THAT(Normalize({"my-prog", "plain-arg", "--", "--not-a-flag", "-"}),
              ::testing::ElementsAre("my-prog", "plain-arg", "--", "--not-a-flag", "-"));
}

}  // namespace
}  // namespace ota
