#include "emulator/nonce_registry.h"

#include "absl/strings/str_cat.h"

namespace ota {

NonceRegistry::NonceRegistry(absl::Duration retention, const Clock& clock)
    : retention_(retention), clock_(clock) {}

bool NonceRegistry::Remember(absl::string_view access_key_id, absl::string_view nonce) {
  const absl::Time now = clock_.Now();
  std::string entry = absl::StrCat(access_key_id, "\n", nonce);
  std::lock_guard<std::mutex> lock(mu_);
  while (!by_age_.empty() && by_age_.front().first <= now - retention_) {
    seen_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
  if (!seen_.insert(entry).second) return false;
  by_age_.emplace_back(now, std::move(entry));
  return true;
}

void NonceRegistry::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  seen_.clear();
  by_age_.clear();
}

}  // namespace ota
