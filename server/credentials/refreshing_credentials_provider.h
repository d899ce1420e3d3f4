// RefreshingCredentialsProvider: serves temporary (STS) credentials from memory and renews them in
// the background before they expire.
//
// The wrapped source (STS AssumeRoleWithOIDC, the ECS metadata service) is slow and may fail; the
// hot path must be neither. Get() returns a copy under a mutex and never does I/O. A refresh is
// due when 80% of the credentials' lifetime has passed or 5 minutes before expiry, whichever comes
// first (never before half the lifetime, so short-lived credentials do not refresh in a loop). A
// failed refresh is retried with jittered exponential backoff; meanwhile the old credentials keep
// being served until they really expire, and each failure is logged (AccessKeyId masked). Only
// after expiry does Get() fail, naming the source and the last refresh error.
//
//   absl::StatusOr<std::unique_ptr<ota::RefreshingCredentialsProvider>> provider =
//       ota::RefreshingCredentialsProvider::Create(std::move(sts_source), clock, {});
//   if (!provider.ok()) { /* the first fetch failed: refuse to start */ }
//   (*provider)->StartBackgroundRefresh();     // a thread that calls RunDueRefresh() when due
//   absl::StatusOr<ota::Credentials> now = (*provider)->Get();
//
// Tests drive it on a FakeClock by calling RunDueRefresh() themselves instead of starting the
// thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/base/backoff.h"
#include "server/base/clock.h"
#include "server/credentials/credentials.h"

namespace ota {

struct RefreshOptions {
  // Refresh when this fraction of the lifetime has passed ...
  double refresh_fraction = 0.8;
  // ... or this long before expiry, whichever is sooner.
  absl::Duration refresh_before_expiry = absl::Minutes(5);
  // Retry delays after failed refreshes: initial, doubling up to max, each scaled by a random
  // factor in [0.5, 1) so replicas do not retry in lockstep.
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Minutes(1);
  // Returns a number in [0, 1); empty = a random generator. Tests make it deterministic.
  std::function<double()> jitter = {};
};

class RefreshingCredentialsProvider final : public CredentialsProvider {
 public:
  // Fetches the first credentials from `source` (blocking); its error is returned as is. The
  // clock must outlive the provider.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RefreshingCredentialsProvider>> Create(
      std::unique_ptr<CredentialsProvider> source, const Clock& clock, RefreshOptions options);
  ~RefreshingCredentialsProvider() override;
  RefreshingCredentialsProvider(const RefreshingCredentialsProvider&) = delete;
  RefreshingCredentialsProvider& operator=(const RefreshingCredentialsProvider&) = delete;

  // The current credentials; UNAVAILABLE once they have expired without a successful refresh.
  [[nodiscard]] absl::StatusOr<Credentials> Get() override;
  [[nodiscard]] std::string Describe() const override;
  [[nodiscard]] std::string RateBudgetIdentity() const override {
    return source_->RateBudgetIdentity();
  }

  // Refreshes if a refresh is due now (blocking on the source), and returns when the next one is
  // due. Called by the background thread; tests call it directly.
  absl::Time RunDueRefresh();
  // When the next refresh (or retry) is due.
  [[nodiscard]] absl::Time NextRefreshTime() const;

  // Starts the thread that runs RunDueRefresh() whenever it is due; stopped by the destructor.
  void StartBackgroundRefresh();

 private:
  RefreshingCredentialsProvider(std::unique_ptr<CredentialsProvider> source, const Clock& clock,
                                RefreshOptions options, Credentials first);
  absl::Time RefreshTimeFor(absl::Time fetched_at, absl::Time expiration) const;
  void RefreshLoop();

  const std::unique_ptr<CredentialsProvider> source_;
  const std::string description_;
  const Clock& clock_;
  const RefreshOptions options_;
  const Backoff backoff_;  // half jitter: a retry waits at least half its cap

  mutable std::mutex mu_;
  Credentials current_ ABSL_GUARDED_BY(mu_);
  absl::Time next_refresh_ ABSL_GUARDED_BY(mu_);
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);

  std::mutex thread_mu_;
  std::condition_variable wake_;
  bool stopping_ ABSL_GUARDED_BY(thread_mu_) = false;
  std::thread thread_;
};

}  // namespace ota
