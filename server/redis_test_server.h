// RedisTestServer: a throwaway redis-server on a free loopback port, for tests and benchmarks that
// need a real Redis (the limiter's Lua script, outages, restarts).
//
// It runs without persistence from a temporary folder, so every start is an empty Redis, exactly
// what a crashed-and-restarted production Redis without persistence looks like.
//
//   absl::StatusOr<std::unique_ptr<ota::RedisTestServer>> redis = ota::RedisTestServer::Start();
//   ota::RedisEndpoint endpoint = (*redis)->endpoint();
//   (*redis)->Kill();     // the outage
//   (*redis)->Restart();  // same port, empty
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/redis_connection.h"

namespace ota {

class RedisTestServer {
 public:
  // Starts `redis-server` (from PATH) and waits until it answers PING. UNAVAILABLE if it does not.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RedisTestServer>> Start();
  ~RedisTestServer();
  RedisTestServer(const RedisTestServer&) = delete;
  RedisTestServer& operator=(const RedisTestServer&) = delete;

  [[nodiscard]] RedisEndpoint endpoint() const;
  [[nodiscard]] int port() const { return port_; }

  // SIGKILL, like a crash: nothing is saved.
  void Kill();
  // Starts a new, empty redis-server on the same port.
  [[nodiscard]] absl::Status Restart();

 private:
  RedisTestServer(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  [[nodiscard]] absl::Status Launch();

  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

}  // namespace ota
