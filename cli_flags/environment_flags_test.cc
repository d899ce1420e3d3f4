#include "cli_flags/environment_flags.h"

#include <cstdlib>
#include <string>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, env_test_count, 1, "test flag");
ABSL_FLAG(std::string, env_test_name, "default", "test flag");

namespace ota {
namespace {

TEST(EnvironmentFlagsTest, SetVariablesBecomeFlagValues) {
  setenv("OTATEST_ENV_TEST_COUNT", "7", 1);
  unsetenv("OTATEST_ENV_TEST_NAME");
  ApplyEnvironmentFallbacks("test", "OTATEST_", {"env_test_count", "env_test_name"});
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_count), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_name), "default");
}

TEST(EnvironmentFlagsDeathTest, UnparsableValueExitsWithoutEchoingIt) {
  setenv("OTATEST_ENV_TEST_COUNT", "secret-not-a-number", 1);
  EXPECT_EXIT(ApplyEnvironmentFallbacks("test", "OTATEST_", {"env_test_count"}),
              ::testing::ExitedWithCode(2),
              "^test: environment variable OTATEST_ENV_TEST_COUNT does not parse as "
              "--env_test_count\n$");
}

}  // namespace
}  // namespace ota
