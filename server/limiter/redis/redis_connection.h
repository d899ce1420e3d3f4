// RedisConnection: one blocking Redis connection (plain TCP or TLS) with bounded timeouts and
// pipelining, and the parsing of redis:// and rediss:// URLs.
//
// The Redis rate limiter drives a single connection from its own I/O thread and sends every queued
// reservation in one pipelined write, so a blocking connection is enough and no event-loop library
// is needed (Debian's hiredis 0.14 async API only ships adapters for libevent, libuv and the like).
// Every read and write is bounded by the timeout given at Open; after any I/O error the connection
// is unusable and the owner opens a new one.
//
// Debian's hiredis 0.14 has no TLS, so for rediss:// the socket and OpenSSL session are ours and
// hiredis is used only for the protocol (encoding commands, decoding replies); redis:// keeps
// hiredis's own blocking context.
//
//   absl::StatusOr<ota::RedisEndpoint> endpoint = ota::ParseRedisUrl("redis://10.0.0.5:6379/2");
//   absl::StatusOr<std::unique_ptr<ota::RedisConnection>> conn =
//       ota::RedisConnection::Open(*endpoint, absl::Milliseconds(250));
//   absl::StatusOr<std::vector<ota::RedisReply>> replies =
//       (*conn)->Pipeline({{"PING"}, {"TIME"}});
//
//   absl::StatusOr<ota::RedisEndpoint> tls = ota::ParseRedisUrl("rediss://redis.internal:6380/0");
//   tls->tls_options.ca_file = "/etc/ota/redis-ca.pem";  // else the system CA store
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct redisContext;

namespace ota {

// How a rediss:// connection proves who it talks to (and, for mutual TLS, who we are).
struct RedisTlsOptions {
  std::string ca_file;      // PEM CA bundle to verify Redis against; empty: the system CA store
  std::string cert_file;    // PEM client certificate chain for mutual TLS; empty: none
  std::string key_file;     // its private key; set exactly when cert_file is
  std::string server_name;  // name (or IP) the certificate must carry; empty: the URL's host
};

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user;      // Redis 6 ACL user; empty: the default user
  std::string password;  // empty: no AUTH. Never logged: see Describe().
  bool tls = false;      // rediss://: TLS with the peer's certificate verified
  RedisTlsOptions tls_options;

  // "redis[s]://HOST:PORT/DB" plus whether a password is set; never the password itself.
  [[nodiscard]] std::string Describe() const;
};

// Parses redis[s]://[[USER]:PASSWORD@]HOST[:PORT][/DB]; rediss:// sets `tls` (the TLS files come
// from flags, not the URL). INVALID_ARGUMENT messages never contain the password.
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
  // Connects (and for TLS, handshakes and verifies the certificate), then AUTH and SELECT as the
  // endpoint says. UNAVAILABLE when Redis cannot be reached in `timeout` or its certificate is not
  // trusted; PERMISSION_DENIED when AUTH is refused; FAILED_PRECONDITION when a TLS file cannot be
  // loaded.
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
  class TlsSession;  // the rediss:// transport, defined in redis_connection.cc

  explicit RedisConnection(redisContext* context);
  explicit RedisConnection(std::unique_ptr<TlsSession> tls);
  [[nodiscard]] absl::Status IoError(absl::string_view doing) const;
  [[nodiscard]] absl::Status AuthenticateAndSelect(const RedisEndpoint& endpoint);

  // Exactly one is set: hiredis's context for redis://, our TLS session for rediss://.
  redisContext* context_ = nullptr;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace ota
