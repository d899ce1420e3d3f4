// Tests for OidcCredentialsProvider against a fake STS client: what is sent, how answers and
// failures are read, and that the OIDC token never leaks into URLs or errors.
#include "server/credentials/sources/oidc_credentials_provider.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_split.h"
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
using ::testing::StartsWith;

constexpr char kStsAnswer[] = R"({
  "RequestId": "3D57EAD2-8723-1F26-B69C-F8707D8B565D",
  "OIDCTokenInfo": {"Subject": "system:serviceaccount:ns:sa", "Issuer": "https://oidc"},
  "AssumedRoleUser": {"AssumedRoleId": "33157794895460****", "Arn": "acs:ram::1:role/r/s"},
  "Credentials": {"SecurityToken": "CAIShwJ1q6Ft5B2yfSjIr5bSEsj4g7BihPWGWHz****",
                  "Expiration": "2021-10-20T04:27:09Z",
                  "AccessKeySecret": "CVwjCkNzTMupZ8NbTCxCBRq3K16jtcWFTJAyBEv2****",
                  "AccessKeyId": "STS.NUgYrLnoC37mZZCNnAbez****"}})";

std::map<std::string, std::string> ParseForm(absl::string_view text) {
  std::map<std::string, std::string> fields;
  for (absl::string_view pair : absl::StrSplit(text, '&')) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits('=', 1));
    fields[kv.first] = kv.second;
  }
  return fields;
}

class OidcProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = std::filesystem::temp_directory_path() /
                  ("oidc_token_" + std::to_string(::getpid()) + "_" +
                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
    WriteToken("eyJhbGciOiJSUzI1NiJ9.first-token.sig");
  }
  void TearDown() override { std::filesystem::remove(token_file_); }
  void WriteToken(const std::string& token) { std::ofstream(token_file_) << token << "\n"; }

  OidcRoleConfig Config() {
    return OidcRoleConfig{.role_arn = "acs:ram::1234567890123456:role/ota-gateway",
                          .oidc_provider_arn = "acs:ram::1234567890123456:oidc-provider/ack-rrsa",
                          .oidc_token_file = token_file_.string(),
                          .role_session_name = "gw-session"};
  }

  std::filesystem::path token_file_;
  FakeClock clock_{absl::FromUnixSeconds(1634700000)};
};

TEST_F(OidcProviderTest, PostsAnAnonymousAssumeRoleWithOidcAndReadsTheCredentials) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> { return Reply(200, kStsAnswer); });
  OidcCredentialsProvider provider(Config(), "https://sts.aliyuncs.com/", http, clock_);
  absl::StatusOr<Credentials> credentials = provider.Get();
  ASSERT_THAT(credentials, IsOk());
  EXPECT_EQ(credentials->access_key_id, "STS.NUgYrLnoC37mZZCNnAbez****");
  EXPECT_EQ(credentials->access_key_secret, "CVwjCkNzTMupZ8NbTCxCBRq3K16jtcWFTJAyBEv2****");
  EXPECT_EQ(credentials->security_token, "CAIShwJ1q6Ft5B2yfSjIr5bSEsj4g7BihPWGWHz****");
  EXPECT_EQ(credentials->expiration, absl::FromUnixSeconds(1634704029));  // 2021-10-20T04:27:09Z

  const std::vector<HttpRequest> requests = http->requests();
  ASSERT_EQ(requests.size(), 1u);
  const HttpRequest& sent = requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_THAT(sent.url, StartsWith("https://sts.aliyuncs.com/?"));
  const auto query = ParseForm(sent.url.substr(sent.url.find('?') + 1));
  EXPECT_EQ(query.at("Action"), "AssumeRoleWithOIDC");
  EXPECT_EQ(query.at("Version"), "2015-04-01");
  EXPECT_EQ(query.at("Format"), "JSON");
  EXPECT_EQ(query.at("Timestamp"), "2021-10-20T03%3A20%3A00Z");
  EXPECT_THAT(sent.url, Not(HasSubstr("token")));
  const auto body = ParseForm(sent.body);
  EXPECT_EQ(body.at("RoleArn"), "acs%3Aram%3A%3A1234567890123456%3Arole%2Fota-gateway");
  EXPECT_EQ(body.at("OIDCProviderArn"),
            "acs%3Aram%3A%3A1234567890123456%3Aoidc-provider%2Fack-rrsa");
  EXPECT_EQ(body.at("OIDCToken"), "eyJhbGciOiJSUzI1NiJ9.first-token.sig");
  EXPECT_EQ(body.at("RoleSessionName"), "gw-session");
  EXPECT_EQ(body.at("DurationSeconds"), "3600");
  // Anonymous: nothing signed, no AccessKeyId.
  EXPECT_THAT(sent.url + sent.body, Not(HasSubstr("Signature")));
  EXPECT_THAT(sent.url + sent.body, Not(HasSubstr("AccessKeyId")));
}

TEST_F(OidcProviderTest, RateBudgetIsKeyedByTheAccountOfTheRole) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
        return absl::UnavailableError("");
      });
  OidcCredentialsProvider provider(Config(), "https://sts.aliyuncs.com", http, clock_);
  EXPECT_EQ(provider.RateBudgetIdentity(), "account:1234567890123456");
  OidcRoleConfig odd = Config();
  odd.role_arn = "not-an-arn";
  OidcCredentialsProvider fallback(odd, "https://sts.aliyuncs.com", http, clock_);
  EXPECT_EQ(fallback.RateBudgetIdentity(), "role:not-an-arn");
}

TEST_F(OidcProviderTest, ReadsTheTokenFileAgainOnEveryFetch) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> { return Reply(200, kStsAnswer); });
  OidcCredentialsProvider provider(Config(), "https://sts.aliyuncs.com", http, clock_);
  ASSERT_THAT(provider.Get(), IsOk());
  WriteToken("rotated-by-kubelet");
  ASSERT_THAT(provider.Get(), IsOk());
  EXPECT_EQ(ParseForm(http->requests()[1].body).at("OIDCToken"), "rotated-by-kubelet");
}

TEST_F(OidcProviderTest, DefaultSessionNameIsTheGatewayAndTheTime) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> { return Reply(200, kStsAnswer); });
  OidcRoleConfig config = Config();
  config.role_session_name = "";
  OidcCredentialsProvider provider(config, "https://sts.aliyuncs.com", http, clock_);
  ASSERT_THAT(provider.Get(), IsOk());
  EXPECT_EQ(ParseForm(http->requests()[0].body).at("RoleSessionName"), "ota-gateway-1634700000");
}

TEST_F(OidcProviderTest, StsRefusalIsFailedPreconditionWithCodeButNoToken) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
        // A hostile fake that echoes what it got must still not leak it through our error.
        return Reply(400, R"({"RequestId":"R-1","Code":"InvalidParameter.OIDCToken","Message":")" +
                              r.body + R"("})");
      });
  OidcCredentialsProvider provider(Config(), "https://sts.aliyuncs.com", http, clock_);
  absl::StatusOr<Credentials> credentials = provider.Get();
  ASSERT_THAT(credentials, Not(IsOk()));
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(credentials.status().message(), HasSubstr("InvalidParameter.OIDCToken"));
  EXPECT_THAT(credentials.status().message(), HasSubstr("R-1"));
  EXPECT_THAT(credentials.status().message(), Not(HasSubstr("first-token")));
}

TEST_F(OidcProviderTest, ServerErrorsAndUnreachableStsAreUnavailable) {
  int status = 503;
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [&status](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
        if (status == 0) return absl::UnavailableError("POST https://sts: Couldn't connect");
        return Reply(status, R"({"Code":"ServiceUnavailable"})");
      });
  OidcCredentialsProvider provider(Config(), "https://sts.aliyuncs.com", http, clock_);
  EXPECT_EQ(provider.Get().status().code(), absl::StatusCode::kUnavailable);
  status = 0;
  absl::StatusOr<Credentials> unreachable = provider.Get();
  EXPECT_EQ(unreachable.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(unreachable.status().message(), HasSubstr("Couldn't connect"));
}

TEST_F(OidcProviderTest, AnswersWithoutUsableCredentialsAreInternal) {
  for (
      const char* body :
      {"not json", R"({"RequestId":"x"})",
       R"({"Credentials":{"AccessKeyId":"a","AccessKeySecret":"b","Expiration":"2021-10-20T04:27:09Z"}})",
       R"({"Credentials":{"AccessKeyId":"a","AccessKeySecret":"b","SecurityToken":"c","Expiration":"tomorrow"}})"}) {
    auto http = std::make_shared<FakeCredentialsHttpClient>(
        [body](const HttpRequest&) -> absl::StatusOr<HttpResponse> { return Reply(200, body); });
    OidcCredentialsProvider provider(Config(), "https://sts.aliyuncs.com", http, clock_);
    EXPECT_EQ(provider.Get().status().code(), absl::StatusCode::kInternal) << body;
  }
}

TEST_F(OidcProviderTest, MissingTokenFileIsNamedAndNothingIsSent) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> { return Reply(200, kStsAnswer); });
  OidcRoleConfig config = Config();
  config.oidc_token_file = "/nonexistent/oidc-token";
  OidcCredentialsProvider provider(config, "https://sts.aliyuncs.com", http, clock_);
  absl::StatusOr<Credentials> credentials = provider.Get();
  EXPECT_EQ(credentials.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(credentials.status().message(), HasSubstr("/nonexistent/oidc-token"));
  EXPECT_TRUE(http->requests().empty());
}

TEST(OidcRoleConfigFromEnvironmentTest, NotFoundWhenUnsetIncompleteNamesTheMissing) {
  std::map<std::string, std::string> env;
  EnvironmentLookup lookup = [&env](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  EXPECT_EQ(OidcRoleConfigFromEnvironment(lookup).status().code(), absl::StatusCode::kNotFound);
  env["ALIBABA_CLOUD_ROLE_ARN"] = "acs:ram::1:role/r";
  absl::StatusOr<OidcRoleConfig> partial = OidcRoleConfigFromEnvironment(lookup);
  EXPECT_EQ(partial.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(partial.status().message(), HasSubstr("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"));
  EXPECT_THAT(partial.status().message(), HasSubstr("ALIBABA_CLOUD_OIDC_TOKEN_FILE"));
  env["ALIBABA_CLOUD_OIDC_PROVIDER_ARN"] = "acs:ram::1:oidc-provider/p";
  env["ALIBABA_CLOUD_OIDC_TOKEN_FILE"] = "/var/run/secrets/tokens/oidc-token";
  env["ALIBABA_CLOUD_ROLE_SESSION_NAME"] = "s1";
  absl::StatusOr<OidcRoleConfig> full = OidcRoleConfigFromEnvironment(lookup);
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->oidc_token_file, "/var/run/secrets/tokens/oidc-token");
  EXPECT_EQ(full->role_session_name, "s1");
}

}  // namespace
}  // namespace ota
