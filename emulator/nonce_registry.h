// NonceRegistry: remembers signature nonces so a replayed request is refused (SignatureNonceUsed).
//
// Alibaba refuses a SignatureNonce (v1) / x-acs-signature-nonce (v3) that the same AccessKey
// already used within the last 15 minutes; a retry must therefore be signed again with a fresh
// nonce. Entries older than the retention are dropped as new ones arrive, so memory stays bounded
// by the call rate. Thread-safe; time comes from the injected Clock.
//
//   ota::NonceRegistry nonces(absl::Minutes(15), ota::SystemClock::Get());
//   if (!nonces.Remember(access_key_id, nonce)) { /* answer SignatureNonceUsed */ }
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace ota {

class NonceRegistry {
 public:
  NonceRegistry(absl::Duration retention, const Clock& clock);

  // Records the nonce; false when `access_key_id` already used it within the retention.
  [[nodiscard]] bool Remember(absl::string_view access_key_id, absl::string_view nonce);

  void Reset();

 private:
  const absl::Duration retention_;
  const Clock& clock_;
  std::mutex mu_;
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);  // "<key id>\n<nonce>"
  std::deque<std::pair<absl::Time, std::string>> by_age_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
