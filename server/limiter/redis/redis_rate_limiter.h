// RedisRateLimiter: the RateLimiter every ota-gateway replica shares through one Redis, so that the
// fleet together stays under the Alibaba account's quota and together still uses close to all of
// it.
//
// Same rules as LocalRateLimiter (see local_rate_limiter.h: at most `limit` starts in any
// `window + margin`, at most `burst` starts in any `burst * window / limit`, FIFO, refusals consume
// nothing), decided atomically by a Lua script (EVALSHA, reloaded on NOSCRIPT) that reads Redis's
// own clock (TIME), so replicas with skewed clocks still agree. Each budget is a Redis list of its
// last `limit` granted starts under `prefix + key + ":" + action`, expiring by itself once it
// constrains nothing; a pause (PauseUntil, after Alibaba throttled) is a key beside it.
//
// No thread waits per call: Reserve queues the request and returns; one I/O thread sends everything
// queued in a single pipelined round trip and calls back with "start at T" or "refused". Every I/O
// is bounded by `timeout`; when Redis is unreachable, Reserve fails at once with UNAVAILABLE while
// the thread reconnects with backoff. On reconnect, and with every call, the script is told the
// newest start this replica knows was granted (by Redis or by a fallback): if Redis lost its state
// (restarted empty), it assumes a full window of slots at that start and places new ones a window
// (+margin) after it, instead of handing out a fresh burst on top of slots still pending.
//
//   ota::RedisRateLimiter limiter({.endpoint = *ota::ParseRedisUrl("redis://127.0.0.1:6379/0"),
//                                  .rate = {.limit = 10, .burst = 5}},
//                                 ota::SystemClock::Get());
//   limiter.Reserve("account-123", deadline, [](absl::StatusOr<ota::Reservation> r) { ... });
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/limiter/local_rate_limiter.h"
#include "server/limiter/redis/redis_connection.h"
#include "server/limiter/shared_rate_limiter.h"

namespace ota {

struct RedisRateLimiterOptions {
  RedisEndpoint endpoint;
  RateLimitOptions rate;  // the whole fleet's budget; must be valid
  std::string key_prefix = "ota-gateway:ratelimit:";
  std::string action = "CancelOTAStrategyByJob";
  absl::Duration timeout = absl::Milliseconds(250);  // connect, and each round trip
  absl::Duration heartbeat =
      absl::Milliseconds(100);  // idle probe: notices outages, learns others' grants
  absl::Duration reconnect_min = absl::Milliseconds(50);
  absl::Duration reconnect_max = absl::Seconds(1);
  std::size_t max_batch = 512;  // reservations per pipelined round trip
};

class RedisRateLimiter final : public SharedRateLimiter {
 public:
  // Starts the I/O thread, which connects in the background; calls made before the first
  // connection attempt ends wait for it (at most `timeout`).
  RedisRateLimiter(RedisRateLimiterOptions options, const Clock& clock);
  // Stops the I/O thread; calls still queued are answered UNAVAILABLE.
  ~RedisRateLimiter() override;
  RedisRateLimiter(const RedisRateLimiter&) = delete;
  RedisRateLimiter& operator=(const RedisRateLimiter&) = delete;

  void Reserve(const std::string& key, absl::Time latest_start, Callback done) override;
  // Shared by the fleet: a key beside the budget holds the pause's end (with a PX expiry), and the
  // script places no replica's slot before it. Ignored while Redis is unreachable.
  void PauseUntil(const std::string& key, absl::Time until) override;
  [[nodiscard]] std::string Describe() const override;

  [[nodiscard]] std::optional<absl::Time> NewestKnownStart(const std::string& key) override;
  void RecordFallbackGrant(const std::string& key, absl::Time start) override;
  void WatchConnection(ConnectionListener listener) override;

  // The Redis key holding the budget `key`.
  [[nodiscard]] std::string RedisKey(const std::string& key) const;
  // The Redis key holding the end of a pause of the budget `key` (absent when not paused).
  [[nodiscard]] std::string PauseKey(const std::string& key) const;
  // The Lua source of the reservation script, for tests that run it directly.
  [[nodiscard]] static const char* ScriptSource();

 private:
  enum class State { kStarting, kUp, kDown };
  enum class Mode { kReserve, kPeek, kPause };
  struct Pending {
    std::string key;
    absl::Time latest_start;  // for a pause: its end
    Callback done;            // empty for a pause
    bool pause = false;
  };
  struct Knowledge {
    absl::Time newest_shared = absl::InfinitePast();  // newest start Redis reported
    // The same on Redis's clock, exactly as Redis stored it: sent back as the floor, it never looks
    // newer than Redis's own record merely because latency changed the measured clock offset.
    std::int64_t newest_shared_us = 0;
    absl::Time newest_fallback = absl::InfinitePast();  // newest start a fallback granted
    absl::Time last_used = absl::InfinitePast();
  };
  // One script answer, in local time.
  struct ScriptAnswer {
    Reservation reservation;
    absl::Time newest;  // InfinitePast when the budget is empty
  };

  void IoLoop();
  [[nodiscard]] absl::Status Connect();
  // Runs `keys` through the script without reserving: merges this replica's knowledge into Redis
  // and learns the newest start granted by anyone.
  [[nodiscard]] absl::Status Probe(const std::vector<std::string>& keys);
  // Sends `batch` in one round trip (plus one more after NOSCRIPT) and answers every request in it,
  // with UNAVAILABLE when the connection failed (the status returned).
  [[nodiscard]] absl::Status RunBatch(std::vector<Pending>& batch);
  // EVALSHA for every request (peek: no reservation); reloads the script on NOSCRIPT once.
  [[nodiscard]] absl::StatusOr<std::vector<RedisReply>> Evaluate(
      const std::vector<std::vector<std::string>>& commands);
  [[nodiscard]] std::vector<std::string> ScriptCommand(const std::string& key, Mode mode,
                                                       absl::Time latest_start);
  [[nodiscard]] absl::StatusOr<ScriptAnswer> Interpret(const RedisReply& reply,
                                                       const std::string& key,
                                                       absl::Time received_at);
  void SetState(State state, const std::string& detail);

  const RedisRateLimiterOptions options_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  State state_ ABSL_GUARDED_BY(mu_) = State::kStarting;
  std::string last_error_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, Knowledge> known_ ABSL_GUARDED_BY(mu_);
  // Redis clock minus local clock, as last measured (one-way latency makes it err on the late
  // side).
  absl::Duration offset_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();

  std::mutex listener_mu_;
  ConnectionListener listener_ ABSL_GUARDED_BY(listener_mu_);

  // Owned by the I/O thread.
  std::unique_ptr<RedisConnection> connection_;
  std::string script_sha_;
  std::string redis_run_id_;  // changes when Redis restarts or fails over to another server

  std::thread io_thread_;
};

}  // namespace ota
