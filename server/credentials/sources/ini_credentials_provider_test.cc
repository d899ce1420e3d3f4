// Tests for the INI credentials file: parsing, profile types, and errors that name file and line
// without quoting values.
#include "server/credentials/sources/ini_credentials_provider.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFile[] = "/home/me/.alibabacloud/credentials";

constexpr char kCredentials[] = R"(# Alibaba Cloud credentials
[default]
type = access_key                  # a RAM user's key
access_key_id = LTAI5tDefaultKey01
access_key_secret = default-secret-value

[temporary]
type=sts
access_key_id=STS.TempKey000001
access_key_secret=sts-secret-value
security_token=sts-token-value

; an instance role
[ecs]
type = ecs_ram_role
role_name = EcsRole

[rrsa]
type = oidc_role_arn
role_arn = acs:ram::1234567890123456:role/ota
oidc_provider_arn = acs:ram::1234567890123456:oidc-provider/ack
oidc_token_file_path = /var/run/secrets/tokens/oidc-token
role_session_name = gw

[assume]
type = ram_role_arn
access_key_id = LTAI5tAssumeKey001
access_key_secret = assume-secret
role_arn = acs:ram::1:role/x
role_session_name = s
)";

CredentialProfile Load(absl::string_view name) {
  absl::StatusOr<IniFile> ini = ParseIni(kCredentials, kFile);
  EXPECT_THAT(ini, IsOk());
  absl::StatusOr<CredentialProfile> profile = ProfileFromIni(*ini, kFile, name);
  EXPECT_THAT(profile, IsOk());
  return *profile;
}

TEST(IniCredentialsTest, AccessKeyProfile) {
  CredentialProfile profile = Load("default");
  const auto& key = std::get<Credentials>(profile.source);
  EXPECT_EQ(key.access_key_id, "LTAI5tDefaultKey01");
  EXPECT_EQ(key.access_key_secret, "default-secret-value");  // the trailing comment is gone
  EXPECT_EQ(key.security_token, "");
  EXPECT_EQ(key.expiration, absl::InfiniteFuture());
  EXPECT_THAT(profile.description, HasSubstr("[default]"));
  EXPECT_THAT(profile.description, HasSubstr(kFile));
  EXPECT_THAT(profile.description, Not(HasSubstr("LTAI5tDefaultKey01")));
  EXPECT_THAT(profile.description, Not(HasSubstr("default-secret-value")));
}

TEST(IniCredentialsTest, StsProfileCarriesTheToken) {
  const CredentialProfile profile = Load("temporary");
  const auto& key = std::get<Credentials>(profile.source);
  EXPECT_EQ(key.access_key_id, "STS.TempKey000001");
  EXPECT_EQ(key.security_token, "sts-token-value");
}

TEST(IniCredentialsTest, EcsRamRoleAndOidcRoleArnProfiles) {
  EXPECT_EQ(std::get<EcsRamRoleConfig>(Load("ecs").source).role_name, "EcsRole");
  const CredentialProfile rrsa = Load("rrsa");
  const auto& role = std::get<OidcRoleConfig>(rrsa.source);
  EXPECT_EQ(role.role_arn, "acs:ram::1234567890123456:role/ota");
  EXPECT_EQ(role.oidc_provider_arn, "acs:ram::1234567890123456:oidc-provider/ack");
  EXPECT_EQ(role.oidc_token_file, "/var/run/secrets/tokens/oidc-token");
  EXPECT_EQ(role.role_session_name, "gw");
}

TEST(IniCredentialsTest, UnsupportedAndUnknownTypesSaySo) {
  absl::StatusOr<IniFile> ini = ParseIni(kCredentials, kFile);
  ASSERT_THAT(ini, IsOk());
  absl::StatusOr<CredentialProfile> assume = ProfileFromIni(*ini, kFile, "assume");
  EXPECT_EQ(assume.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(assume.status().message(), HasSubstr("ram_role_arn"));
  EXPECT_THAT(assume.status().message(), HasSubstr(std::string(kFile) + ":26"));

  absl::StatusOr<IniFile> odd = ParseIni("[p]\ntype = magic\n", "f.ini");
  ASSERT_THAT(odd, IsOk());
  absl::StatusOr<CredentialProfile> magic = ProfileFromIni(*odd, "f.ini", "p");
  EXPECT_EQ(magic.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(magic.status().message(), HasSubstr("f.ini:2"));
}

TEST(IniCredentialsTest, MissingProfileIsNotFound) {
  absl::StatusOr<IniFile> ini = ParseIni(kCredentials, kFile);
  ASSERT_THAT(ini, IsOk());
  EXPECT_EQ(ProfileFromIni(*ini, kFile, "prod").status().code(), absl::StatusCode::kNotFound);
}

TEST(IniCredentialsTest, MissingOrEmptyKeysNameFileLineAndKeyButNoValue) {
  absl::StatusOr<IniFile> ini =
      ParseIni("[default]\ntype = access_key\naccess_key_id = LTAI5tSomeKeyId01\n", "c.ini");
  ASSERT_THAT(ini, IsOk());
  absl::StatusOr<CredentialProfile> missing = ProfileFromIni(*ini, "c.ini", "default");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr("c.ini:1"));
  EXPECT_THAT(missing.status().message(), HasSubstr("access_key_secret"));
  EXPECT_THAT(missing.status().message(), Not(HasSubstr("LTAI5tSomeKeyId01")));

  ini = ParseIni(
      "[default]\ntype = sts\naccess_key_id = a\naccess_key_secret = b\n"
      "security_token =\n",
      "c.ini");
  ASSERT_THAT(ini, IsOk());
  absl::StatusOr<CredentialProfile> empty = ProfileFromIni(*ini, "c.ini", "default");
  EXPECT_THAT(empty.status().message(), HasSubstr("c.ini:5"));
  EXPECT_THAT(empty.status().message(), HasSubstr("security_token"));
}

TEST(IniParserTest, SyntaxErrorsNameFileAndLineWithoutQuotingTheLine) {
  struct Case {
    const char* text;
    const char* where;
  };
  for (const Case& c :
       {Case{"orphan_secret = hunter2\n", "x.ini:1"},
        Case{"[a]\n\njust-a-secret-hunter2\n", "x.ini:3"}, Case{"[a\nk=v\n", "x.ini:1"},
        Case{"[a]\nk = hunter2\nk = hunter2\n", "x.ini:3"}, Case{"[a]\n[b]\n[a]\n", "x.ini:3"},
        Case{"[a]\n = hunter2\n", "x.ini:2"}}) {
    absl::StatusOr<IniFile> ini = ParseIni(c.text, "x.ini");
    ASSERT_THAT(ini, Not(IsOk())) << c.text;
    EXPECT_EQ(ini.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(ini.status().message(), HasSubstr(c.where)) << c.text;
    EXPECT_THAT(ini.status().message(), Not(HasSubstr("hunter2"))) << c.text;
  }
}

TEST(IniParserTest, WindowsLineEndingsAndBlankLinesAreFine) {
  absl::StatusOr<IniFile> ini = ParseIni("\r\n[default]\r\ntype = access_key\r\n\r\n", "w.ini");
  ASSERT_THAT(ini, IsOk());
  ASSERT_NE(ini->Find("default"), nullptr);
  EXPECT_EQ(ini->Find("default")->Find("type")->value, "access_key");
}

}  // namespace
}  // namespace ota
