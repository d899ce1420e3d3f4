#include "server/limiter/redis/redis_connection.h"

#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/redis_test_server.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::ota::testing::RedisTestServer;

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseRedisUrlTest, HostPortAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://10.1.2.3:6380/4");
  ASSERT_THAT(endpoint, IsOk());
  EXPECT_EQ(endpoint->host, "10.1.2.3");
  EXPECT_EQ(endpoint->port, 6380);
  EXPECT_EQ(endpoint->db, 4);
  EXPECT_TRUE(endpoint->password.empty());
}

TEST(ParseRedisUrlTest, DefaultsPortAndDatabase) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://redis.internal");
  ASSERT_THAT(endpoint, IsOk());
  EXPECT_EQ(endpoint->host, "redis.internal");
  EXPECT_EQ(endpoint->port, 6379);
  EXPECT_EQ(endpoint->db, 0);
}

TEST(ParseRedisUrlTest, PasswordAndUserArePercentDecodedAndNeverDescribed) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("redis://ops:s%40cr%3At@h:1/2");
  ASSERT_THAT(endpoint, IsOk());
  EXPECT_EQ(endpoint->user, "ops");
  EXPECT_EQ(endpoint->password, "s@cr:t");
  EXPECT_EQ(endpoint->Describe(), "redis://h:1/2 (password set)");

  absl::StatusOr<RedisEndpoint> no_user = ParseRedisUrl("redis://:hunter2@h:1/0");
  ASSERT_THAT(no_user, IsOk());
  EXPECT_EQ(no_user->user, "");
  EXPECT_EQ(no_user->password, "hunter2");
  EXPECT_THAT(no_user->Describe(), Not(HasSubstr("hunter2")));
}

TEST(ParseRedisUrlTest, RedissMeansTls) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl("rediss://:pw@redis.internal:6380/1");
  ASSERT_THAT(endpoint, IsOk());
  EXPECT_TRUE(endpoint->tls);
  EXPECT_EQ(endpoint->host, "redis.internal");
  EXPECT_EQ(endpoint->port, 6380);
  EXPECT_EQ(endpoint->Describe(), "rediss://redis.internal:6380/1 (password set)");
  absl::StatusOr<RedisEndpoint> plain = ParseRedisUrl("redis://h:1/0");
  ASSERT_THAT(plain, IsOk());
  EXPECT_FALSE(plain->tls);
}

TEST(ParseRedisUrlTest, RejectsWhatItCannotServeWithoutEchoingThePassword) {
  EXPECT_THAT(ParseRedisUrl("redisss://h:1/0"), Not(IsOk()));
  EXPECT_THAT(ParseRedisUrl("http://h:1/0"), Not(IsOk()));
  EXPECT_THAT(ParseRedisUrl("redis://h:0/0"), Not(IsOk()));
  EXPECT_THAT(ParseRedisUrl("redis://h:1/x"), Not(IsOk()));
  EXPECT_THAT(ParseRedisUrl("redis://:1/0"), Not(IsOk()));
  absl::Status bad = ParseRedisUrl("redis://:topsecret%zz@h:1/0").status();
  EXPECT_THAT(bad, Not(IsOk()));
  EXPECT_THAT(bad.message(), Not(HasSubstr("topsecret")));
}

TEST(RedisConnectionTest, PipelinesCommandsInOrder) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis, IsOk());
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open((*redis)->endpoint(), absl::Milliseconds(500));
  ASSERT_THAT(connection, IsOk());
  absl::StatusOr<std::vector<RedisReply>> replies =
      (*connection)
          ->Pipeline(
              {{"SET", "k", "v"}, {"INCR", "n"}, {"INCR", "n"}, {"GET", "k"}, {"NOSUCHCOMMAND"}});
  ASSERT_THAT(replies, IsOk());
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].text, "OK");
  EXPECT_EQ((*replies)[2].integer, 2);
  EXPECT_EQ((*replies)[3].text, "v");
  EXPECT_TRUE((*replies)[4].is_error());
}

TEST(RedisConnectionTest, AuthenticatesAndSelectsTheDatabase) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis, IsOk());
  {
    absl::StatusOr<std::unique_ptr<RedisConnection>> admin =
        RedisConnection::Open((*redis)->endpoint(), absl::Milliseconds(500));
    ASSERT_THAT(admin, IsOk());
    ASSERT_THAT((*admin)->Command({"CONFIG", "SET", "requirepass", "pw-123"}), IsOk());
  }
  RedisEndpoint endpoint = (*redis)->endpoint();
  endpoint.db = 3;
  endpoint.password = "wrong-pw";
  absl::StatusOr<std::unique_ptr<RedisConnection>> refused =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_THAT(refused, Not(IsOk()));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("wrong-pw")));

  endpoint.password = "pw-123";
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_THAT(connection, IsOk());
  ASSERT_THAT((*connection)->Command({"SET", "in-db-3", "1"}), IsOk());
  absl::StatusOr<RedisReply> info = (*connection)->Command({"CLIENT", "INFO"});
  ASSERT_THAT(info, IsOk());
  EXPECT_THAT(info->text, HasSubstr("db=3"));
}

TEST(RedisConnectionTest, UnreachableRedisIsUnavailableWithinTheTimeout) {
  absl::StatusOr<std::unique_ptr<RedisTestServer>> redis = RedisTestServer::Start();
  ASSERT_THAT(redis, IsOk());
  const RedisEndpoint endpoint = (*redis)->endpoint();
  (*redis)->Kill();
  const absl::Time started = absl::Now();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(300));
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - started, absl::Seconds(1));
}

class RedisTlsConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisTestServer>> redis =
        RedisTestServer::Start(RedisTestServer::Security::kTls);
    ASSERT_THAT(redis, IsOk());
    redis_ = *std::move(redis);
  }
  std::unique_ptr<RedisTestServer> redis_;
};

TEST_F(RedisTlsConnectionTest, PipelinesAuthenticatesAndSelectsOverTls) {
  {
    absl::StatusOr<std::unique_ptr<RedisConnection>> admin =
        RedisConnection::Open(redis_->endpoint(), absl::Milliseconds(500));
    ASSERT_THAT(admin, IsOk());
    ASSERT_THAT((*admin)->Command({"CONFIG", "SET", "requirepass", "pw-tls"}), IsOk());
  }
  RedisEndpoint endpoint = redis_->endpoint();
  endpoint.db = 2;
  endpoint.password = "pw-tls";
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_THAT(connection, IsOk());
  // A value bigger than one TLS record and one read buffer, so replies arrive in pieces.
  const std::string big(100000, 'x');
  absl::StatusOr<std::vector<RedisReply>> replies = (*connection)
                                                        ->Pipeline({{"SET", "big", big},
                                                                    {"INCR", "n"},
                                                                    {"GET", "big"},
                                                                    {"NOSUCHCOMMAND"},
                                                                    {"CLIENT", "INFO"}});
  ASSERT_THAT(replies, IsOk());
  ASSERT_EQ(replies->size(), 5u);
  EXPECT_EQ((*replies)[0].text, "OK");
  EXPECT_EQ((*replies)[1].integer, 1);
  EXPECT_EQ((*replies)[2].text, big);
  EXPECT_TRUE((*replies)[3].is_error());
  EXPECT_THAT((*replies)[4].text, HasSubstr("db=2"));

  endpoint.password = "wrong-pw";
  absl::StatusOr<std::unique_ptr<RedisConnection>> refused =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("wrong-pw")));
}

TEST_F(RedisTlsConnectionTest, RefusesACertificateNotSignedByTheGivenCa) {
  RedisEndpoint endpoint = redis_->endpoint();
  endpoint.tls_options.ca_file = redis_->other_ca_file();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_THAT(connection, Not(IsOk()));
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(connection.status().message(), HasSubstr("certificate rejected"));
  EXPECT_THAT(connection.status().message(), HasSubstr("--redis-ca-file"));
}

TEST_F(RedisTlsConnectionTest, RefusesACertificateForAnotherName) {
  RedisEndpoint endpoint = redis_->endpoint();
  endpoint.tls_options.server_name = "redis.example.com";
  absl::StatusOr<std::unique_ptr<RedisConnection>> by_name =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_THAT(by_name, Not(IsOk()));
  EXPECT_EQ(by_name.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(by_name.status().message(), HasSubstr("hostname mismatch"));

  endpoint.tls_options.server_name = "127.0.0.2";
  absl::StatusOr<std::unique_ptr<RedisConnection>> by_ip =
      RedisConnection::Open(endpoint, absl::Milliseconds(500));
  ASSERT_THAT(by_ip, Not(IsOk()));
  EXPECT_EQ(by_ip.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(by_ip.status().message(), HasSubstr("IP address mismatch"));
}

TEST_F(RedisTlsConnectionTest, PlainTcpToATlsRedisFailsWithinTheTimeout) {
  RedisEndpoint endpoint = redis_->endpoint();
  endpoint.tls = false;
  const absl::Time started = absl::Now();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(300));
  if (connection.ok()) {
    EXPECT_THAT((*connection)->Command({"PING"}), Not(IsOk()));
  }
  EXPECT_LT(absl::Now() - started, absl::Seconds(2));
}

TEST_F(RedisTlsConnectionTest, UnreachableTlsRedisIsUnavailableWithinTheTimeout) {
  const RedisEndpoint endpoint = redis_->endpoint();
  redis_->Kill();
  const absl::Time started = absl::Now();
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(300));
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - started, absl::Seconds(1));
}

TEST(RedisTlsOptionsTest, UnreadableCaFileIsAFailedPrecondition) {
  RedisEndpoint endpoint;
  endpoint.tls = true;
  endpoint.port = 1;
  endpoint.tls_options.ca_file = "/nonexistent/ca.pem";
  absl::StatusOr<std::unique_ptr<RedisConnection>> connection =
      RedisConnection::Open(endpoint, absl::Milliseconds(300));
  EXPECT_EQ(connection.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(connection.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

}  // namespace
}  // namespace ota
