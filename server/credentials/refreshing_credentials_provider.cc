#include "server/credentials/refreshing_credentials_provider.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/base/alibaba_time.h"
#include "server/base/json_logger.h"

namespace ota {
namespace {

// The refresh thread re-reads the clock at least this often, so a wall-clock jump cannot make it
// oversleep a refresh.
constexpr absl::Duration kMaxSleep = absl::Seconds(30);

std::string FormatUtc(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "never";
  return FormatAlibabaTimestamp(t);
}

}  // namespace

absl::StatusOr<std::unique_ptr<RefreshingCredentialsProvider>>
RefreshingCredentialsProvider::Create(std::unique_ptr<CredentialsProvider> source,
                                      const Clock& clock, RefreshOptions options) {
  absl::StatusOr<Credentials> first = source->Get();
  if (!first.ok()) return first.status();
  return std::unique_ptr<RefreshingCredentialsProvider>(new RefreshingCredentialsProvider(
      std::move(source), clock, std::move(options), *std::move(first)));
}

RefreshingCredentialsProvider::RefreshingCredentialsProvider(
    std::unique_ptr<CredentialsProvider> source, const Clock& clock, RefreshOptions options,
    Credentials first)
    : source_(std::move(source)),
      description_(source_->Describe()),
      clock_(clock),
      options_(std::move(options)),
      backoff_({.initial = options_.initial_backoff, .max = options_.max_backoff, .jitter = 0.5},
               options_.jitter),
      current_(std::move(first)) {
  next_refresh_ = RefreshTimeFor(clock_.Now(), current_.expiration);
}

RefreshingCredentialsProvider::~RefreshingCredentialsProvider() {
  {
    std::lock_guard<std::mutex> lock(thread_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::StatusOr<Credentials> RefreshingCredentialsProvider::Get() {
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (now >= current_.expiration) {
    return absl::UnavailableError(
        absl::StrCat("temporary credentials from ", description_, " expired at ",
                     FormatUtc(current_.expiration), " and could not be refreshed: ",
                     last_error_.ok() ? "no refresh has finished yet" : last_error_.message()));
  }
  return current_;
}

std::string RefreshingCredentialsProvider::Describe() const {
  return absl::StrCat(description_, ", refreshed before expiry");
}

absl::Time RefreshingCredentialsProvider::RefreshTimeFor(absl::Time fetched_at,
                                                         absl::Time expiration) const {
  if (expiration == absl::InfiniteFuture()) return absl::InfiniteFuture();
  const absl::Duration lifetime = std::max(expiration - fetched_at, absl::ZeroDuration());
  const absl::Duration by_fraction = lifetime * options_.refresh_fraction;
  const absl::Duration by_margin = lifetime - options_.refresh_before_expiry;
  return fetched_at + std::max(lifetime / 2, std::min(by_fraction, by_margin));
}

absl::Time RefreshingCredentialsProvider::NextRefreshTime() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_refresh_;
}

absl::Time RefreshingCredentialsProvider::RunDueRefresh() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (clock_.Now() < next_refresh_) return next_refresh_;
  }
  // The source is called without the lock: Get() keeps serving while STS is slow.
  absl::StatusOr<Credentials> fresh = source_->Get();
  const absl::Time now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  if (fresh.ok()) {
    current_ = *std::move(fresh);
    consecutive_failures_ = 0;
    last_error_ = absl::OkStatus();
    next_refresh_ = RefreshTimeFor(now, current_.expiration);
    Log(LogLevel::kInfo, "credentials refreshed",
        {{"source", description_},
         {"access_key_id", MaskAccessKeyId(current_.access_key_id)},
         {"expires_at", FormatUtc(current_.expiration)},
         {"next_refresh_at", FormatUtc(next_refresh_)}});
    return next_refresh_;
  }
  ++consecutive_failures_;
  last_error_ = fresh.status();
  const absl::Duration retry_in = backoff_.Delay(consecutive_failures_);
  next_refresh_ = now + retry_in;
  const bool expired = now >= current_.expiration;
  Log(expired ? LogLevel::kError : LogLevel::kWarning,
      expired ? "credentials refresh failed and the previous credentials have expired: calls "
                "fail until a refresh succeeds"
              : "credentials refresh failed; still serving the previous credentials until they "
                "expire",
      {{"source", description_},
       {"access_key_id", MaskAccessKeyId(current_.access_key_id)},
       {"expires_at", FormatUtc(current_.expiration)},
       {"failures", consecutive_failures_},
       {"retry_in_ms", absl::ToInt64Milliseconds(retry_in)},
       {"error", std::string(fresh.status().message())}});
  return next_refresh_;
}

void RefreshingCredentialsProvider::StartBackgroundRefresh() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { RefreshLoop(); });
}

void RefreshingCredentialsProvider::RefreshLoop() {
  while (true) {
    const absl::Time next = RunDueRefresh();
    const absl::Duration wait = std::min(next - clock_.Now(), kMaxSleep);
    std::unique_lock<std::mutex> lock(thread_mu_);
    if (stopping_) return;
    if (wait > absl::ZeroDuration()) {
      wake_.wait_for(lock, absl::ToChronoNanoseconds(wait), [this] { return stopping_; });
    }
    if (stopping_) return;
  }
}

}  // namespace ota
