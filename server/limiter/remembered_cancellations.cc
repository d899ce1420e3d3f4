#include "server/limiter/remembered_cancellations.h"

#include "absl/strings/str_cat.h"

namespace ota {

std::string RememberedCancellationKey(const std::string& account,
                                      const std::string& iot_instance_id,
                                      const std::string& job_id) {
  // '|' cannot occur in a validated job or instance id, so keys cannot collide.
  return absl::StrCat(account, "|", iot_instance_id, "|", job_id);
}

LocalRememberedCancellations::LocalRememberedCancellations(RememberOptions options,
                                                           const Clock& clock)
    : options_(options), clock_(clock) {}

void LocalRememberedCancellations::Lookup(const std::string& key, LookupDone done) {
  std::optional<RememberedCancellation> found = Find(key);
  done(std::move(found));
}

std::optional<RememberedCancellation> LocalRememberedCancellations::Find(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (it->second->expires <= clock_.Now()) {
    order_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  order_.splice(order_.begin(), order_, it->second);
  return it->second->cancellation;
}

void LocalRememberedCancellations::Remember(const std::string& key,
                                            const RememberedCancellation& cancellation,
                                            Written written) {
  Store(key, cancellation);
  if (written) written();
}

void LocalRememberedCancellations::Store(const std::string& key,
                                         const RememberedCancellation& cancellation) {
  if (options_.capacity == 0 || options_.ttl <= absl::ZeroDuration()) return;
  const absl::Time expires = clock_.Now() + options_.ttl;
  std::lock_guard<std::mutex> lock(mu_);
  if (const auto it = index_.find(key); it != index_.end()) {
    it->second->cancellation = cancellation;
    it->second->expires = expires;
    order_.splice(order_.begin(), order_, it->second);
    return;
  }
  order_.push_front(Entry{.key = key, .cancellation = cancellation, .expires = expires});
  index_.emplace(key, order_.begin());
  while (order_.size() > options_.capacity) {
    index_.erase(order_.back().key);
    order_.pop_back();
  }
}

std::size_t LocalRememberedCancellations::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return order_.size();
}

}  // namespace ota
