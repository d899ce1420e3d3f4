// Tests for the credential chain: the order of the sources, "configured but broken" being an error
// rather than a fall-through, and the ECS discovery rules. Uses a fake environment, temporary
// profile files and a fake STS / metadata service client.
#include "server/credentials/sources/credential_chain.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/fake_credentials_http_client.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::ota::testing::FakeClock;
using ::ota::testing::FakeCredentialsHttpClient;
using ::ota::testing::Reply;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kStsAnswer[] = R"({"RequestId": "R", "Credentials": {
  "AccessKeyId": "STS.FromOidc000001", "AccessKeySecret": "oidc-secret",
  "SecurityToken": "oidc-token", "Expiration": "2030-01-01T00:00:00Z"}})";
constexpr char kEcsAnswer[] = R"({"Code": "Success",
  "AccessKeyId": "STS.FromEcs0000001", "AccessKeySecret": "ecs-secret",
  "SecurityToken": "ecs-token", "Expiration": "2030-01-01T00:00:00Z"})";

class CredentialChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = std::filesystem::temp_directory_path() /
            ("chain_home_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(home_);
    env_["HOME"] = home_.string();
    http_ = std::make_shared<FakeCredentialsHttpClient>(
        [this](const HttpRequest& request) -> absl::StatusOr<HttpResponse> {
          if (request.url.rfind("https://sts.test", 0) == 0) {
            if (!sts_up_) return Reply(400, R"({"Code":"AuthenticationFail.OIDCToken"})");
            return Reply(200, kStsAnswer);
          }
          if (!metadata_up_) return absl::UnavailableError("metadata: couldn't connect");
          if (request.method == "PUT") return Reply(200, "metadata-session");
          if (request.url.ends_with("/security-credentials/")) return Reply(200, "EcsRole");
          if (request.url.ends_with("/security-credentials/EcsRole")) return Reply(200, kEcsAnswer);
          return Reply(404, "");
        });
    options_.sts_endpoint = "https://sts.test";
    options_.ecs_metadata_endpoint = "http://metadata.test";
    options_.start_background_refresh = false;
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  std::string Write(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = home_ / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  absl::StatusOr<std::unique_ptr<CredentialsProvider>> Chain() {
    EnvironmentLookup lookup = [this](const char* name) {
      auto it = env_.find(name);
      return it == env_.end() ? std::string() : it->second;
    };
    return MakeCredentialChain(options_, lookup, {.sts = http_, .metadata = http_}, clock_);
  }

  std::string KeyId() {
    absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
    EXPECT_THAT(chain, IsOk());
    if (!chain.ok()) return "";
    absl::StatusOr<Credentials> credentials = (*chain)->Get();
    EXPECT_THAT(credentials, IsOk());
    return credentials.ok() ? credentials->access_key_id : "";
  }

  void ConfigureOidc() {
    env_["ALIBABA_CLOUD_ROLE_ARN"] = "acs:ram::1:role/r";
    env_["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] = "acs:ram::1:oidc-provider/p";
    env_["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = Write("token", "oidc-jwt");
  }
  void WriteCliConfig() {
    Write(".aliyun/config.json",
          R"({"current": "default", "profiles": [{"name": "default", "mode": "AK",
              "access_key_id": "LTAI5tFromCliConfig", "access_key_secret": "s"}]})");
  }
  void WriteIni() {
    Write(".alibabacloud/credentials",
          "[default]\ntype = access_key\naccess_key_id = LTAI5tFromIniFile0\n"
          "access_key_secret = s\n[other]\ntype = sts\naccess_key_id = STS.FromIniOther\n"
          "access_key_secret = s\nsecurity_token = t\n");
  }
  int MetadataCalls() {
    int calls = 0;
    for (const HttpRequest& r : http_->requests())
      calls += r.url.find("metadata.test") != std::string::npos;
    return calls;
  }

  std::filesystem::path home_;
  std::map<std::string, std::string> env_;
  std::shared_ptr<FakeCredentialsHttpClient> http_;
  bool sts_up_ = true;
  bool metadata_up_ = true;
  CredentialChainOptions options_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
};

TEST_F(CredentialChainTest, EnvironmentComesFirst) {
  env_["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "LTAI5tFromEnvironm";
  env_["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "env-secret";
  ConfigureOidc();
  WriteCliConfig();
  EXPECT_EQ(KeyId(), "LTAI5tFromEnvironm");
  EXPECT_TRUE(http_->requests().empty());
}

TEST_F(CredentialChainTest, HalfSetEnvironmentIsAnErrorNotAFallThrough) {
  env_["ALIBABA_CLOUD_ACCESS_KEY_ID"] = "LTAI5tFromEnvironm";
  WriteIni();
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, Not(IsOk()));
  EXPECT_THAT(chain.status().message(), HasSubstr("environment"));
  EXPECT_THAT(chain.status().message(), HasSubstr("ALIBABA_CLOUD_ACCESS_KEY_SECRET"));
}

TEST_F(CredentialChainTest, OidcBeatsProfileFilesAndFillsTheExpiration) {
  ConfigureOidc();
  WriteCliConfig();
  WriteIni();
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, IsOk());
  absl::StatusOr<Credentials> credentials = (*chain)->Get();
  ASSERT_THAT(credentials, IsOk());
  EXPECT_EQ(credentials->access_key_id, "STS.FromOidc000001");
  EXPECT_EQ(credentials->expiration, absl::FromUnixSeconds(1893456000));
  EXPECT_THAT((*chain)->Describe(), HasSubstr("OIDC role acs:ram::1:role/r"));
  // Through the refreshing wrapper: the budget key survives key rotation.
  EXPECT_EQ((*chain)->RateBudgetIdentity(), "account:1");
  EXPECT_THAT((*chain)->Describe(), Not(HasSubstr("oidc-secret")));
}

TEST_F(CredentialChainTest, OidcThatStsRefusesIsAnErrorNamingOidc) {
  ConfigureOidc();
  WriteIni();
  sts_up_ = false;
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, Not(IsOk()));
  EXPECT_THAT(chain.status().message(), HasSubstr("OIDC"));
  EXPECT_THAT(chain.status().message(), HasSubstr("AuthenticationFail.OIDCToken"));
  EXPECT_THAT(chain.status().message(), Not(HasSubstr("oidc-jwt")));
}

TEST_F(CredentialChainTest, CliConfigComesBeforeTheIniFile) {
  WriteCliConfig();
  WriteIni();
  EXPECT_EQ(KeyId(), "LTAI5tFromCliConfig");
}

TEST_F(CredentialChainTest, IniFileWhenThereIsNoCliConfig) {
  WriteIni();
  EXPECT_EQ(KeyId(), "LTAI5tFromIniFile0");
}

TEST_F(CredentialChainTest, ProfileVariableSelectsAProfileOnlyTheIniFileHas) {
  WriteCliConfig();
  WriteIni();
  env_["ALIBABA_CLOUD_PROFILE"] = "other";
  EXPECT_EQ(KeyId(), "STS.FromIniOther");
}

TEST_F(CredentialChainTest, ProfileVariableNamingNoProfileIsAnError) {
  WriteCliConfig();
  WriteIni();
  env_["ALIBABA_CLOUD_PROFILE"] = "prod";
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, Not(IsOk()));
  EXPECT_THAT(chain.status().message(), HasSubstr("'prod'"));
  EXPECT_EQ(MetadataCalls(), 0);
}

TEST_F(CredentialChainTest, ExplicitCredentialsFileThatIsMissingIsAnError) {
  env_["ALIBABA_CLOUD_CREDENTIALS_FILE"] = (home_ / "nope.ini").string();
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, Not(IsOk()));
  EXPECT_THAT(chain.status().message(), HasSubstr("ALIBABA_CLOUD_CREDENTIALS_FILE"));
}

TEST_F(CredentialChainTest, BrokenProfileFileIsAnErrorNamingFileAndLine) {
  Write(".alibabacloud/credentials", "[default]\ntype = access_key\naccess_key_id = x\n");
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, Not(IsOk()));
  EXPECT_THAT(chain.status().message(), HasSubstr(".alibabacloud/credentials:1"));
  EXPECT_THAT(chain.status().message(), HasSubstr("access_key_secret"));
}

TEST_F(CredentialChainTest, EcsRamRoleProfileGoesThroughTheMetadataService) {
  Write(".aliyun/config.json", R"({"current": "ecs", "profiles": [{"name": "ecs",
        "mode": "EcsRamRole", "ram_role_name": "EcsRole"}]})");
  EXPECT_EQ(KeyId(), "STS.FromEcs0000001");
}

TEST_F(CredentialChainTest, EcsIsDiscoveredWhenNothingElseIsConfigured) {
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, IsOk());
  EXPECT_EQ((*chain)->Get()->access_key_id, "STS.FromEcs0000001");
  EXPECT_THAT((*chain)->Describe(), HasSubstr("ECS RAM role"));
  EXPECT_EQ((*chain)->RateBudgetIdentity(), "ecs-ram-role:EcsRole");
}

TEST_F(CredentialChainTest, NoMetadataServiceMeansNothingConfigured) {
  metadata_up_ = false;
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  EXPECT_EQ(chain.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(chain.status().message(), HasSubstr("no Alibaba Cloud credentials"));
}

TEST_F(CredentialChainTest, ANamedEcsRoleThatCannotBeReachedIsAnError) {
  metadata_up_ = false;
  env_["ALIBABA_CLOUD_ECS_METADATA"] = "EcsRole";
  absl::StatusOr<std::unique_ptr<CredentialsProvider>> chain = Chain();
  ASSERT_THAT(chain, Not(IsOk()));
  EXPECT_NE(chain.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(chain.status().message(), HasSubstr("ALIBABA_CLOUD_ECS_METADATA"));
}

TEST_F(CredentialChainTest, DisabledOrUndiscoveredEcsIsNotAsked) {
  env_["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true";
  EXPECT_EQ(Chain().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MetadataCalls(), 0);
  env_.erase("ALIBABA_CLOUD_ECS_METADATA_DISABLED");
  options_.discover_ecs_metadata = false;  // emulator mode
  EXPECT_EQ(Chain().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MetadataCalls(), 0);
}

}  // namespace
}  // namespace ota
