#include "server/limiter/redis/redis_remembered_cancellations.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace ota {
namespace {

// After Redis failed, lookups answer from the local copy for this long before it is tried again.
constexpr absl::Duration kReconnectPause = absl::Seconds(1);

}  // namespace

RedisRememberedCancellations::RedisRememberedCancellations(
    RedisRememberedCancellationsOptions options, const Clock& clock)
    : options_(std::move(options)), local_(options_.remember, clock) {
  thread_ = std::thread([this] { Run(); });
}

RedisRememberedCancellations::~RedisRememberedCancellations() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void RedisRememberedCancellations::Enqueue(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void RedisRememberedCancellations::Lookup(const std::string& key, LookupDone done) {
  Enqueue([this, key, done = std::move(done)](RedisConnection* redis) mutable {
    if (redis != nullptr) {
      absl::StatusOr<RedisReply> reply = redis->Command({"GET", options_.key_prefix + key});
      if (reply.ok() && reply->type == RedisReply::Type::kString) {
        RememberedCancellation found{.request_id = reply->text};
        local_.Store(key, found);
        return done(std::move(found));
      }
      if (!reply.ok()) Drop();
    }
    // A miss in Redis may still be known here (remembered while Redis was away); both are true.
    done(local_.Find(key));
  });
}

void RedisRememberedCancellations::Remember(const std::string& key,
                                            const RememberedCancellation& cancellation,
                                            Written written) {
  local_.Store(key, cancellation);
  const std::int64_t ttl_ms = absl::ToInt64Milliseconds(options_.remember.ttl);
  if (ttl_ms <= 0) {
    if (written) written();
    return;
  }
  Enqueue([this, key, cancellation, ttl_ms,
           written = std::move(written)](RedisConnection* redis) mutable {
    if (redis != nullptr) {
      absl::StatusOr<RedisReply> reply = redis->Command(
          {"SET", options_.key_prefix + key, cancellation.request_id, "PX", absl::StrCat(ttl_ms)});
      if (!reply.ok()) Drop();
    }
    if (written) written();
  });
}

RedisConnection* RedisRememberedCancellations::Connection() {
  if (connection_ != nullptr) return connection_.get();
  const absl::Time now = absl::Now();
  if (now < next_connect_) return nullptr;
  absl::StatusOr<std::unique_ptr<RedisConnection>> opened =
      RedisConnection::Open(options_.endpoint, options_.timeout);
  if (!opened.ok()) {
    next_connect_ = now + kReconnectPause;
    return nullptr;
  }
  connection_ = *std::move(opened);
  return connection_.get();
}

void RedisRememberedCancellations::Drop() {
  connection_.reset();
  next_connect_ = absl::Now() + kReconnectPause;
}

void RedisRememberedCancellations::Run() {
  while (true) {
    std::deque<Task> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock,
                 [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, nothing left
      batch.swap(tasks_);
    }
    for (Task& task : batch) task(Connection());
  }
}

}  // namespace ota
