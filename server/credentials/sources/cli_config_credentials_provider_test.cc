// Tests for the aliyun CLI config.json reader: modes, the current profile, and errors that name
// the file and the line or field without quoting values.
#include "server/credentials/sources/cli_config_credentials_provider.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFile[] = "/home/me/.aliyun/config.json";

constexpr char kConfig[] = R"({
  "current": "ak",
  "profiles": [
    {"name": "ak", "mode": "AK", "access_key_id": "LTAI5tCliKeyId0001",
     "access_key_secret": "cli-secret", "region_id": "cn-shanghai", "output_format": "json"},
    {"name": "sts", "mode": "StsToken", "access_key_id": "STS.CliTemp00001",
     "access_key_secret": "cli-sts-secret", "sts_token": "cli-sts-token"},
    {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "EcsRole"},
    {"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::1:role/r",
     "oidc_provider_arn": "acs:ram::1:oidc-provider/p", "oidc_token_file": "/tmp/token",
     "ram_session_name": "cli", "expired_seconds": 900},
    {"name": "assume", "mode": "RamRoleArn", "access_key_id": "a", "access_key_secret": "b",
     "ram_role_arn": "acs:ram::1:role/x"}
  ],
  "meta_path": ""
})";

TEST(CliConfigTest, CurrentProfileIsTheDefault) {
  absl::StatusOr<CredentialProfile> profile = ProfileFromCliConfig(kConfig, kFile, "");
  ASSERT_THAT(profile, IsOk());
  const auto& key = std::get<Credentials>(profile->source);
  EXPECT_EQ(key.access_key_id, "LTAI5tCliKeyId0001");
  EXPECT_EQ(key.access_key_secret, "cli-secret");
  EXPECT_THAT(profile->description, HasSubstr("'ak'"));
  EXPECT_THAT(profile->description, Not(HasSubstr("cli-secret")));
}

TEST(CliConfigTest, StsTokenEcsRamRoleAndOidcModes) {
  absl::StatusOr<CredentialProfile> sts = ProfileFromCliConfig(kConfig, kFile, "sts");
  ASSERT_THAT(sts, IsOk());
  EXPECT_EQ(std::get<Credentials>(sts->source).security_token, "cli-sts-token");

  absl::StatusOr<CredentialProfile> ecs = ProfileFromCliConfig(kConfig, kFile, "ecs");
  ASSERT_THAT(ecs, IsOk());
  EXPECT_EQ(std::get<EcsRamRoleConfig>(ecs->source).role_name, "EcsRole");

  absl::StatusOr<CredentialProfile> oidc = ProfileFromCliConfig(kConfig, kFile, "oidc");
  ASSERT_THAT(oidc, IsOk());
  const auto& role = std::get<OidcRoleConfig>(oidc->source);
  EXPECT_EQ(role.role_arn, "acs:ram::1:role/r");
  EXPECT_EQ(role.oidc_provider_arn, "acs:ram::1:oidc-provider/p");
  EXPECT_EQ(role.oidc_token_file, "/tmp/token");
  EXPECT_EQ(role.role_session_name, "cli");
  EXPECT_EQ(role.duration, absl::Minutes(15));
}

TEST(CliConfigTest, UnsupportedModeAndUnknownProfile) {
  absl::StatusOr<CredentialProfile> assume = ProfileFromCliConfig(kConfig, kFile, "assume");
  EXPECT_EQ(assume.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(assume.status().message(), HasSubstr("profiles[4].mode"));
  EXPECT_EQ(ProfileFromCliConfig(kConfig, kFile, "prod").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CliConfigTest, BadJsonNamesTheLineButNotTheText) {
  absl::StatusOr<CredentialProfile> bad = ProfileFromCliConfig(
      "{\n  \"current\": \"a\",\n  \"profiles\": [\n    {\"access_key_secret\": hunter2}\n]}",
      kFile, "");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr(std::string(kFile) + ":4"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("hunter2")));
}

TEST(CliConfigTest, MissingOrMistypedFieldsAreNamed) {
  struct Case {
    const char* json;
    const char* field;
  };
  for (const Case& c : {
           Case{R"({"profiles": []})", "current"},
           Case{R"({"current": "a"})", "profiles"},
           Case{R"({"current": "a", "profiles": [{"name": "a"}]})", "profiles[0].mode"},
           Case{R"({"current": "a", "profiles": [{"name": "b"}, {"name": "a", "mode": "AK",
                "access_key_id": "LTAI5tSomeKeyId01"}]})",
                "profiles[1].access_key_secret"},
           Case{R"({"current": "a", "profiles": [{"name": "a", "mode": "AK",
                "access_key_id": 42, "access_key_secret": "hunter2"}]})",
                "profiles[0].access_key_id"},
           Case{R"({"current": "a", "profiles": [{"name": "a", "mode": "StsToken",
                "access_key_id": "x", "access_key_secret": "hunter2"}]})",
                "profiles[0].sts_token"},
           Case{R"({"current": "a", "profiles": [{"name": "a", "mode": "OIDC",
                "ram_role_arn": "r", "oidc_provider_arn": "p"}]})",
                "profiles[0].oidc_token_file"},
       }) {
    absl::StatusOr<CredentialProfile> profile = ProfileFromCliConfig(c.json, kFile, "");
    ASSERT_THAT(profile, Not(IsOk())) << c.json;
    EXPECT_EQ(profile.status().code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_THAT(profile.status().message(), HasSubstr(c.field));
    EXPECT_THAT(profile.status().message(), HasSubstr(kFile));
    EXPECT_THAT(profile.status().message(), Not(HasSubstr("hunter2")));
    EXPECT_THAT(profile.status().message(), Not(HasSubstr("LTAI5tSomeKeyId01")));
  }
}

}  // namespace
}  // namespace ota
