// RedisConnection: one blocking hiredis connection with bounded timeouts and pipelining, and the
// parsing of redis:// URLs.
//
// The Redis rate limiter drives a single connection from its own I/O thread and sends every queued
// reservation in one pipelined write, so a blocking connection is enough and no event-loop library
// is needed (Debian's hiredis 0.14 async API only ships adapters for libevent, libuv and the like).
// Every read and write is bounded by the timeout given at Open; after any I/O error the connection
// is unusable and the owner opens a new one.
//
//   absl::StatusOr<ota::RedisEndpoint> endpoint = ota::ParseRedisUrl("redis://10.0.0.5:6379/2");
//   absl::StatusOr<std::unique_ptr<ota::RedisConnection>> conn =
//       ota::RedisConnection::Open(*endpoint, absl::Milliseconds(250));
//   absl::StatusOr<std::vector<ota::RedisReply>> replies =
//       (*conn)->Pipeline({{"PING"}, {"TIME"}});
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct redisContext;

namespace ota {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;      // Redis 6 ACL user; empty: the default user
  std::string password;  // empty: no AUTH. Never logged: see Describe().

  // "redis://HOST:PORT/DB" plus whether a password is set; never the password itself.
  [[nodiscard]] std::string Describe() const;
};

// Parses redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]. rediss:// (TLS) is refused with an
// explanation: hiredis 0.14 has no TLS. INVALID_ARGUMENT messages never contain the password.
[[nodiscard]] absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string text;  // kString, kStatus and kError
  std::vector<RedisReply> elements;

  [[nodiscard]] bool is_error() const { return type == Type::kError; }
};

class RedisConnection {
 public:
  // Connects, then AUTH and SELECT as the endpoint says. UNAVAILABLE when Redis cannot be reached
  // in `timeout`; PERMISSION_DENIED when AUTH is refused.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisConnection>> Open(
      const RedisEndpoint& endpoint, absl::Duration timeout);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Writes all commands at once, then reads their replies in order (one round trip). Redis error
  // replies are ordinary replies (is_error()); a status means the connection failed or timed out
  // and must be dropped.
  [[nodiscard]] absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  [[nodiscard]] absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args);

 private:
  explicit RedisConnection(redisContext* context) : context_(context) {}
  [[nodiscard]] absl::Status IoError(absl::string_view doing) const;

  redisContext* context_;
};

}  // namespace ota
