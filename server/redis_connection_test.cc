#include "server/redis_connection.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/redis_test_server.h"

namespace ota {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseRedisUrlTest, HostPortAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://10.1.2.3:6380/4");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->host, "10.1.2.3");
  EXPECT_EQ(endpoint->port, 6380);
  EXPECT_EQ(endpoint->db, 4);
  EXPECT_TRUE(endpoint->password.empty());
}

TEST(ParseRedisUrlTest, DefaultsPortAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://redis.internal");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->host, "redis.internal");
  EXPECT_EQ(endpoint->port, 6379);
  EXPECT_EQ(endpoint->db, 0);
}

TEST(ParseRedisUrlTest, PasswordAndUserArePercentDecodedAndNeverDescribed) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://ops:s%40cr%3At@h:1/2");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->user, "ops");
  EXPECT_EQ(endpoint->password, "s@cr:t");
  EXPECT_EQ(endpoint->Describe(), "redis://h:1/2 (password set)");

  absl::StatusOr<RedisEndpoint> no_user = ParseRedisUrl("redis://:hunter2@h:1/0");
  ASSERT_TRUE(no_user.ok()) << no_user.status();
  EXPECT_EQ(no_user->user, "");
  EXPECT_EQ(no_user->password, "hunter2");
  EXPECT_THAT(no_user->Describe(), Not(HasSubstr("hunter2")));
}

TEST(ParseRedisUrlTest, RejectsWhatItCannotServeWithoutEchoingThePassword) {
  EXPECT_THAT(ParseRedisUrl("rediss://h:1/0").status().message(), HasSubstr("TLS"));
  EXPECT_FALSE(ParseRedisUrl("http://h:1/0").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://h:0/0").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://h:1/x").ok());
  EXPECT_FALSE(ParseRedisUrl("redis://:1/0").ok());
  absl::Status bad = ParseRedisUrl("redis://:topsecret%zz@h:1/0").status();
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), Not(HasSubstr("topsecret")));
}

TEST(RedisConnectionTest, PipelinesCommandsInOrder) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open((*redis)->endpoint(), absl::Milliseconds(500));
  ASSERT_TRUE(connection.ok()) << connection.status();
  absl::StatusOr<std::vector<RedisReply>> replies =
      (*connection)
          ->Pipeline(
              {{"SET", "k", "v"}, {"INCR", "n"}, {"INCR", "n"}, {"GET", "k"}, {"NOSUCHCOMMAND"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].text, "OK");
  EXPECT_EQ((*replies)[2].integer, 2);
  EXPECT_EQ((*replies)[3].text, "v");
  EXPECT_TRUE((*replies)[4].is_error());
}

TEST(RedisConnectionTest, AuthenticatesAndSelectsTheDatabase) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  {
    absl::StatusOr<std::unique_ptr<RedisConnection>> admin =
        RedisConnection::Open((*redis)->endpoint(), absl::Milliseconds(500));
    ASSERT_TRUE(admin.ok()) << admin.status();
    ASSERT_TRUE((*admin)->Command({"CONFIG", "SET", "requirepass", "pw-123"}).ok());
  }
  RedisEndpoint endpoint = (*redis)->endpoint();
  endpoint.db = 3;
  endpoint.password = "wrong-pw";
  absl::StatusOr<std::unique_ptr<RedisConnection>> refused =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("wrong-pw")));

  endpoint.password = "pw-123";
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_TRUE(connection.ok()) << connection.status();
  ASSERT_TRUE((*connection)->Command({"SET", "in-db-3", "1"}).ok());
  absl::StatusOr<RedisReply> info = (*connection)->Command({"CLIENT", "INFO"});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_THAT(info->text, HasSubstr("db=3"));
}

TEST(RedisConnectionTest, UnreachableRedisIsUnavailableWithinTheTimeout) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status();
  const RedisEndpoint endpoint = (*redis)->endpoint();
  (*redis)->Kill();
  const absl::Time started = absl::Now();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(300));
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - started, absl::Seconds(1));
}

}  // namespace
}  // namespace ota
