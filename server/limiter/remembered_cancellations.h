// RememberedCancellations: batches whose dynamic update policy this gateway cancelled (or found
// cancelled), kept for a while so a repeated cancel is answered OK ALREADY_CANCELLED with the
// original RequestId, with no request to Alibaba and no slot taken from the account's quota.
//
// A policy cannot be un-cancelled, so a remembered batch stays true for as long as it is kept;
// the time limit (`--remember-cancelled`, 24h by default) and the LRU bound only cap memory.
// LocalRememberedCancellations keeps them in this process; RedisRememberedCancellations
// (redis/) shares them with the fleet through the limiter's Redis and falls back to a local copy.
//
//   ota::LocalRememberedCancellations memory({.ttl = absl::Hours(24), .capacity = 100000}, clock);
//   memory.Remember("acct|iot-1|J1", {.request_id = "4C9B..."}, /*written=*/nullptr);
//   memory.Lookup("acct|iot-1|J1", [](std::optional<ota::RememberedCancellation> found) { ... });
#pragma once

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace ota {

struct RememberedCancellation {
  std::string request_id;  // Alibaba's RequestId of the request that established the cancellation
};

// The key of one batch: the account's budget key, the IoT instance and the job.
[[nodiscard]] std::string RememberedCancellationKey(const std::string& account,
                                                    const std::string& iot_instance_id,
                                                    const std::string& job_id);

class RememberedCancellations {
 public:
  using LookupDone = absl::AnyInvocable<void(std::optional<RememberedCancellation>)>;
  using Written = absl::AnyInvocable<void()>;
  virtual ~RememberedCancellations() = default;

  // `done` runs exactly once, possibly before Lookup returns, possibly on another thread.
  virtual void Lookup(const std::string& key, LookupDone done) = 0;
  // `written` (optional) runs once the cancellation is stored where every replica sharing the
  // store will find it (or storing it there failed), so an answer given after it is never
  // contradicted by a replica that asks next. Possibly on another thread.
  virtual void Remember(const std::string& key, const RememberedCancellation& cancellation,
                        Written written) = 0;
};

struct RememberOptions {
  absl::Duration ttl = absl::Hours(24);
  std::size_t capacity = 100000;  // batches kept; the least recently used goes first
};

class LocalRememberedCancellations final : public RememberedCancellations {
 public:
  LocalRememberedCancellations(RememberOptions options, const Clock& clock);

  void Lookup(const std::string& key, LookupDone done) override;
  void Remember(const std::string& key, const RememberedCancellation& cancellation,
                Written written) override;

  // Synchronous forms, for the Redis-backed store's fallback.
  [[nodiscard]] std::optional<RememberedCancellation> Find(const std::string& key);
  void Store(const std::string& key, const RememberedCancellation& cancellation);
  [[nodiscard]] std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    RememberedCancellation cancellation;
    absl::Time expires;
  };
  using Order = std::list<Entry>;  // most recently used first

  const RememberOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  Order order_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Order::iterator> index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
