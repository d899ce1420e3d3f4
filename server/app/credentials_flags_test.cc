// Tests for --sts-endpoint / --ecs-metadata-endpoint checking and the emulator-mode ECS rule.
#include "server/app/credentials_flags.h"

#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

ABSL_DECLARE_FLAG(std::string, sts_endpoint);
ABSL_DECLARE_FLAG(std::string, ecs_metadata_endpoint);

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

class CredentialsFlagsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    absl::SetFlag(&FLAGS_sts_endpoint, kDefaultStsEndpoint);
    absl::SetFlag(&FLAGS_ecs_metadata_endpoint, kDefaultEcsMetadataEndpoint);
  }
};

TEST_F(CredentialsFlagsTest, DefaultsAreAlibabasEndpoints) {
  absl::StatusOr<CredentialChainOptions> options = LoadCredentialChainOptions(false);
  ASSERT_THAT(options, IsOk());
  EXPECT_EQ(options->sts_endpoint, "https://sts.aliyuncs.com");
  EXPECT_EQ(options->ecs_metadata_endpoint, "http://100.100.100.200");
  EXPECT_TRUE(options->discover_ecs_metadata);
}

TEST_F(CredentialsFlagsTest, EmulatorModeProbesEcsOnlyWhenTheEndpointIsGiven) {
  absl::StatusOr<CredentialChainOptions> options = LoadCredentialChainOptions(true);
  ASSERT_THAT(options, IsOk());
  EXPECT_FALSE(options->discover_ecs_metadata);
  absl::SetFlag(&FLAGS_ecs_metadata_endpoint, "http://127.0.0.1:8099/");
  options = LoadCredentialChainOptions(true);
  ASSERT_THAT(options, IsOk());
  EXPECT_TRUE(options->discover_ecs_metadata);
  EXPECT_EQ(options->ecs_metadata_endpoint, "http://127.0.0.1:8099");
}

TEST_F(CredentialsFlagsTest, EndpointsMustBeSchemeAndHostOnly) {
  for (const char* bad : {"sts.aliyuncs.com", "ftp://sts", "https://", "https://sts/path",
                          "https://sts?x=1", "https://user@sts"}) {
    absl::SetFlag(&FLAGS_sts_endpoint, bad);
    absl::StatusOr<CredentialChainOptions> options = LoadCredentialChainOptions(false);
    ASSERT_THAT(options, Not(IsOk())) << bad;
    EXPECT_THAT(options.status().message(), HasSubstr("--sts-endpoint")) << bad;
  }
}

}  // namespace
}  // namespace ota
