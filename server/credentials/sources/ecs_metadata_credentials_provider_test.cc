// Tests for EcsMetadataCredentialsProvider against a fake metadata service client.
#include "server/credentials/sources/ecs_metadata_credentials_provider.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_credentials_http_client.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::ota::testing::FakeCredentialsHttpClient;
using ::ota::testing::Reply;

using ::testing::HasSubstr;
using ::testing::Pair;

constexpr char kRoleCredentials[] = R"({
  "AccessKeyId": "STS.ECSKEYID0000000001", "AccessKeySecret": "ecs-secret-1",
  "Expiration": "2017-11-01T05:20:01Z", "SecurityToken": "ecs-token-1",
  "LastUpdated": "2017-10-31T23:20:01Z", "Code": "Success"})";

// A metadata service with one role "EcsRole" that insists on the session token.
absl::StatusOr<HttpResponse> MetadataService(const HttpRequest& request) {
  const std::string base = "http://100.100.100.200";
  if (request.method == "PUT" && request.url == base + "/latest/api/token") {
    return Reply(200, "session-token-1");
  }
  bool has_token = false;
  for (const auto& [name, value] : request.headers) {
    has_token |= name == "X-aliyun-ecs-metadata-token" && value == "session-token-1";
  }
  if (!has_token) return Reply(401, "");
  if (request.url == base + "/latest/meta-data/ram/security-credentials/") {
    return Reply(200, "EcsRole");
  }
  if (request.url == base + "/latest/meta-data/ram/security-credentials/EcsRole") {
    return Reply(200, kRoleCredentials);
  }
  return Reply(404, "");
}

TEST(EcsMetadataProviderTest, AsksForASessionTokenDiscoversTheRoleAndReadsItsCredentials) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(MetadataService);
  EcsMetadataCredentialsProvider provider({.role_name = ""}, "http://100.100.100.200/", http);
  absl::StatusOr<Credentials> credentials = provider.Get();
  ASSERT_THAT(credentials, IsOk());
  EXPECT_EQ(credentials->access_key_id, "STS.ECSKEYID0000000001");
  EXPECT_EQ(credentials->access_key_secret, "ecs-secret-1");
  EXPECT_EQ(credentials->security_token, "ecs-token-1");
  EXPECT_EQ(credentials->expiration, absl::FromUnixSeconds(1509513601));  // 2017-11-01T05:20:01Z
  const std::vector<HttpRequest> sent = http->requests();
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0].method, "PUT");
  EXPECT_THAT(sent[0].headers,
              ::testing::Contains(Pair("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")));
  EXPECT_EQ(sent[1].method, "GET");
  EXPECT_EQ(sent[2].url,
            "http://100.100.100.200/latest/meta-data/ram/security-credentials/EcsRole");
}

TEST(EcsMetadataProviderTest, AGivenRoleNameSkipsDiscovery) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(MetadataService);
  EcsMetadataCredentialsProvider provider({.role_name = "EcsRole"}, "http://100.100.100.200", http);
  ASSERT_THAT(provider.Get(), IsOk());
  EXPECT_EQ(http->requests().size(), 2u);
}

TEST(EcsMetadataProviderTest, RateBudgetIsKeyedByTheRoleNotTheChangingKey) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(MetadataService);
  EcsMetadataCredentialsProvider discovered({.role_name = ""}, "http://100.100.100.200", http);
  ASSERT_THAT(discovered.Get(), IsOk());
  EXPECT_EQ(discovered.RateBudgetIdentity(), "ecs-ram-role:EcsRole");
  EcsMetadataCredentialsProvider named({.role_name = "Named"}, "http://100.100.100.200", http);
  EXPECT_EQ(named.RateBudgetIdentity(), "ecs-ram-role:Named");
}

TEST(EcsMetadataProviderTest, UnknownRoleIsNotFound) {
  auto http = std::make_shared<FakeCredentialsHttpClient>(MetadataService);
  EcsMetadataCredentialsProvider provider({.role_name = "Other"}, "http://100.100.100.200", http);
  EXPECT_EQ(provider.Get().status().code(), absl::StatusCode::kNotFound);
}

TEST(EcsMetadataProviderTest, NoAttachedRoleIsNotFoundAndNoServiceIsUnavailable) {
  auto empty = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
        return Reply(200, r.method == "PUT" ? "t" : "\n");
      });
  EcsMetadataCredentialsProvider no_role({.role_name = ""}, "http://100.100.100.200", empty);
  absl::StatusOr<Credentials> none = no_role.Get();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(), HasSubstr("no RAM role"));

  auto down = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> {
        return absl::UnavailableError("PUT http://100.100.100.200/latest/api/token: timeout");
      });
  EcsMetadataCredentialsProvider unreachable({.role_name = ""}, "http://100.100.100.200", down);
  EXPECT_EQ(unreachable.Get().status().code(), absl::StatusCode::kUnavailable);
}

TEST(EcsMetadataProviderTest, RefusedTokenAndBadDocumentsAreErrors) {
  auto no_token = std::make_shared<FakeCredentialsHttpClient>(
      [](const HttpRequest&) -> absl::StatusOr<HttpResponse> { return Reply(403, ""); });
  EcsMetadataCredentialsProvider refused({.role_name = "EcsRole"}, "http://m", no_token);
  EXPECT_EQ(refused.Get().status().code(), absl::StatusCode::kFailedPrecondition);

  for (
      const char* document :
      {"garbage", R"({"Code":"Failed"})",
       R"({"Code":"Success","AccessKeyId":"a","AccessKeySecret":"b","Expiration":"2017-11-01T05:20:01Z"})"}) {
    auto http = std::make_shared<FakeCredentialsHttpClient>(
        [document](const HttpRequest& r) -> absl::StatusOr<HttpResponse> {
          return Reply(200, r.method == "PUT" ? "t" : document);
        });
    EcsMetadataCredentialsProvider provider({.role_name = "EcsRole"}, "http://m", http);
    absl::StatusOr<Credentials> credentials = provider.Get();
    EXPECT_THAT(credentials, Not(IsOk())) << document;
    EXPECT_NE(credentials.status().code(), absl::StatusCode::kNotFound) << document;
  }
}

}  // namespace
}  // namespace ota
