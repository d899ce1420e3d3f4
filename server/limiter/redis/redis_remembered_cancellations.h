// RedisRememberedCancellations: the remembered cancellations shared by every replica through the
// limiter's Redis, so a batch one replica cancelled is answered ALREADY_CANCELLED by all of them.
//
// Each batch is one Redis string (prefix + key -> RequestId) written with SET ... PX, so it expires
// by itself after the remembering time. Redis is only ever a help, never the truth's only source:
// every cancellation is also kept in a local LocalRememberedCancellations, and while Redis cannot
// be reached (or answers an error) lookups are answered from that local copy: a miss then only
// costs a request to Alibaba, never a wrong answer. Commands run on the store's own thread (one
// blocking connection bounded by `timeout`), so no gRPC or transport thread waits on Redis; after a
// failure the connection is retried at most once a second, and lookups meanwhile answer from
// the local copy at once.
//
//   ota::RedisRememberedCancellations memory({.endpoint = endpoint, .key_prefix = "ota-gateway:",
//                                              .remember = {.ttl = absl::Hours(24)}}, clock);
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/base/clock.h"
#include "server/limiter/redis/redis_connection.h"
#include "server/limiter/remembered_cancellations.h"

namespace ota {

struct RedisRememberedCancellationsOptions {
  RedisEndpoint endpoint;
  std::string key_prefix = "ota-gateway:cancelled:";  // Redis key = prefix + batch key
  RememberOptions remember;
  absl::Duration timeout = absl::Milliseconds(250);  // connect and round trip
};

class RedisRememberedCancellations final : public RememberedCancellations {
 public:
  RedisRememberedCancellations(RedisRememberedCancellationsOptions options, const Clock& clock);
  // Finishes the commands already queued (each bounded by the timeout), then stops.
  ~RedisRememberedCancellations() override;
  RedisRememberedCancellations(const RedisRememberedCancellations&) = delete;
  RedisRememberedCancellations& operator=(const RedisRememberedCancellations&) = delete;

  void Lookup(const std::string& key, LookupDone done) override;
  void Remember(const std::string& key, const RememberedCancellation& cancellation,
                Written written) override;

 private:
  using Task = absl::AnyInvocable<void(RedisConnection*)>;  // nullptr: Redis is unreachable
  void Enqueue(Task task);
  void Run();
  RedisConnection* Connection();  // the loop thread's; nullptr while Redis is unreachable
  void Drop();

  const RedisRememberedCancellationsOptions options_;
  LocalRememberedCancellations local_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Owned by the loop thread.
  std::unique_ptr<RedisConnection> connection_;
  absl::Time next_connect_ = absl::InfinitePast();

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace ota
