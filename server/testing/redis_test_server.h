// RedisTestServer: a throwaway redis-server on a free loopback port, for tests and benchmarks that
// need a real Redis (the limiter's Lua script, outages, restarts).
//
// It runs without persistence from a temporary folder, so every start is an empty Redis, exactly
// what a crashed-and-restarted production Redis without persistence looks like.
//
//   absl::StatusOr<std::unique_ptr<ota::testing::RedisTestServer>> redis =
//   ota::testing::RedisTestServer::Start(); ota::RedisEndpoint endpoint = (*redis)->endpoint();
//   (*redis)->Kill();     // the outage
//   (*redis)->Restart();  // same port, empty
//
// With Security::kTls it listens only for TLS, with a certificate (SAN IP:127.0.0.1) issued at
// start by a throwaway CA made with the openssl CLI; endpoint() is then a rediss:// endpoint that
// trusts that CA.
//
//   auto tls = ota::testing::RedisTestServer::Start(ota::testing::RedisTestServer::Security::kTls);
//   ota::RedisEndpoint untrusted = (*tls)->endpoint();
//   untrusted.tls_options.ca_file = (*tls)->other_ca_file();  // must be refused
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/limiter/redis/redis_connection.h"

namespace ota::testing {

class RedisTestServer {
 public:
  enum class Security { kPlain, kTls };

  // Starts `redis-server` (from PATH) and waits until it answers PING. UNAVAILABLE if it does not.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisTestServer>> Start(
      Security security = Security::kPlain);
  ~RedisTestServer();
  RedisTestServer(const RedisTestServer&) = delete;
  RedisTestServer& operator=(const RedisTestServer&) = delete;

  [[nodiscard]] RedisEndpoint endpoint() const;
  [[nodiscard]] int port() const { return port_; }
  // kTls only: the CA that issued the server's certificate, and an unrelated CA that did not.
  [[nodiscard]] std::string ca_file() const { return dir_ + "/ca.pem"; }
  [[nodiscard]] std::string other_ca_file() const { return dir_ + "/other-ca.pem"; }

  // SIGKILL, like a crash: nothing is saved.
  void Kill();
  // Starts a new, empty redis-server on the same port.
  [[nodiscard]] absl::Status Restart();

 private:
  RedisTestServer(std::string dir, int port, Security security)
      : dir_(std::move(dir)), port_(port), security_(security) {}
  [[nodiscard]] absl::Status Launch();
  [[nodiscard]] absl::Status MakeCertificates() const;

  std::string dir_;
  int port_;
  Security security_;
  pid_t pid_ = -1;
};

}  // namespace ota::testing
