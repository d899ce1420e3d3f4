// Tests for RefreshingCredentialsProvider on a FakeClock: when refreshes happen, what a failed
// refresh does, and that its logs carry no secret.
#include "server/credentials/refreshing_credentials_provider.h"

#include <atomic>
#include <deque>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::ota::testing::FakeClock;

using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

Credentials Temporary(int n, absl::Time expiration) {
  return Credentials{.access_key_id = absl::StrCat("STS.TEMPKEYID000", n),
                     .access_key_secret = absl::StrCat("temp-secret-", n),
                     .security_token = absl::StrCat("temp-token-", n),
                     .expiration = expiration};
}

// Answers Get() from a script; counts the calls.
class ScriptedSource final : public CredentialsProvider {
 public:
  void Push(absl::StatusOr<Credentials> result) {
    std::lock_guard<std::mutex> lock(mu_);
    results_.push_back(std::move(result));
  }
  [[nodiscard]] absl::StatusOr<Credentials> Get() override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (results_.empty()) return absl::UnavailableError("script exhausted");
    absl::StatusOr<Credentials> next = results_.front();
    results_.pop_front();
    return next;
  }
  [[nodiscard]] std::string Describe() const override { return "scripted STS"; }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<absl::StatusOr<Credentials>> results_;
  int calls_ = 0;
};

class RefreshingCredentialsProviderTest : public ::testing::Test {
 protected:
  std::unique_ptr<RefreshingCredentialsProvider> Make(absl::Duration first_lifetime,
                                                      RefreshOptions options = {}) {
    auto source = std::make_unique<ScriptedSource>();
    source_ = source.get();
    source_->Push(Temporary(1, kStart + first_lifetime));
    if (!options.jitter) options.jitter = [] { return 0.0; };  // delays are exactly half
    auto provider = RefreshingCredentialsProvider::Create(std::move(source), clock_, options);
    EXPECT_THAT(provider, IsOk());
    return *std::move(provider);
  }

  FakeClock clock_{kStart};
  ScriptedSource* source_ = nullptr;
};

TEST_F(RefreshingCredentialsProviderTest, RefreshesAt80PercentOfAnHour) {
  auto provider = Make(absl::Hours(1));
  EXPECT_EQ(provider->NextRefreshTime(), kStart + absl::Minutes(48));
}

TEST_F(RefreshingCredentialsProviderTest, RefreshesFiveMinutesBeforeExpiryWhenThatIsSooner) {
  auto provider = Make(absl::Minutes(15));  // 80% would be 12 min, 5 min before is 10 min
  EXPECT_EQ(provider->NextRefreshTime(), kStart + absl::Minutes(10));
}

TEST_F(RefreshingCredentialsProviderTest, ShortLifetimesRefreshAtHalfNotInALoop) {
  auto provider = Make(absl::Seconds(10));
  EXPECT_EQ(provider->NextRefreshTime(), kStart + absl::Seconds(5));
}

TEST_F(RefreshingCredentialsProviderTest, LongLivedKeysNeverRefresh) {
  auto provider = Make(absl::InfiniteDuration());
  EXPECT_EQ(provider->NextRefreshTime(), absl::InfiniteFuture());
  clock_.Advance(absl::Hours(24 * 365));
  provider->RunDueRefresh();
  EXPECT_EQ(source_->calls(), 1);
}

TEST_F(RefreshingCredentialsProviderTest, NothingHappensBeforeTheRefreshIsDue) {
  auto provider = Make(absl::Hours(1));
  clock_.Advance(absl::Minutes(47));
  EXPECT_EQ(provider->RunDueRefresh(), kStart + absl::Minutes(48));
  EXPECT_EQ(source_->calls(), 1);
}

TEST_F(RefreshingCredentialsProviderTest, SwapsInFreshCredentialsWhenDue) {
  auto provider = Make(absl::Hours(1));
  clock_.Advance(absl::Minutes(48));
  source_->Push(Temporary(2, clock_.Now() + absl::Hours(1)));
  EXPECT_EQ(provider->RunDueRefresh(), clock_.Now() + absl::Minutes(48));
  absl::StatusOr<Credentials> now = provider->Get();
  ASSERT_THAT(now, IsOk());
  EXPECT_EQ(now->access_key_id, "STS.TEMPKEYID0002");
  EXPECT_EQ(now->security_token, "temp-token-2");
  EXPECT_EQ(now->expiration, kStart + absl::Minutes(108));
}

TEST_F(RefreshingCredentialsProviderTest, FailedRefreshKeepsServingOldCredentialsUntilExpiry) {
  auto provider = Make(absl::Minutes(15));
  clock_.Advance(absl::Minutes(10));
  source_->Push(absl::UnavailableError("STS AssumeRoleWithOIDC unreachable: timeout"));
  ::testing::internal::CaptureStderr();
  const absl::Time retry_at = provider->RunDueRefresh();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(retry_at, clock_.Now() + absl::Milliseconds(500));  // 1s initial, jitter 0 -> half

  absl::StatusOr<Credentials> still = provider->Get();
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->access_key_id, "STS.TEMPKEYID0001");
  EXPECT_THAT(log, HasSubstr("still serving the previous credentials"));
  EXPECT_THAT(log, HasSubstr(MaskAccessKeyId("STS.TEMPKEYID0001")));
  EXPECT_THAT(log, HasSubstr("timeout"));
  EXPECT_THAT(log, Not(HasSubstr("STS.TEMPKEYID0001")));
  EXPECT_THAT(log, Not(HasSubstr("temp-secret")));
  EXPECT_THAT(log, Not(HasSubstr("temp-token")));

  clock_.Set(kStart + absl::Minutes(15) - absl::Nanoseconds(1));
  EXPECT_THAT(provider->Get(), IsOk());
  clock_.Set(kStart + absl::Minutes(15));
  absl::StatusOr<Credentials> expired = provider->Get();
  ASSERT_THAT(expired, Not(IsOk()));
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(expired.status().message(), HasSubstr("scripted STS"));
  EXPECT_THAT(expired.status().message(), HasSubstr("timeout"));
  EXPECT_THAT(expired.status().message(), Not(HasSubstr("temp-secret")));
}

TEST_F(RefreshingCredentialsProviderTest, RetriesBackOffExponentiallyWithJitterUpToTheCap) {
  double jitter = 0.0;
  RefreshOptions options;
  options.initial_backoff = absl::Seconds(1);
  options.max_backoff = absl::Seconds(8);
  options.jitter = [&jitter] { return jitter; };
  auto provider = Make(absl::Hours(1), options);
  clock_.Set(provider->NextRefreshTime());
  std::vector<absl::Duration> delays;
  ::testing::internal::CaptureStderr();
  for (double j : {0.0, 0.0, 0.0, 0.0, 0.0, 0.999999}) {
    jitter = j;
    const absl::Time next = provider->RunDueRefresh();  // the script is empty: every call fails
    delays.push_back(next - clock_.Now());
    clock_.Set(next);
  }
  (void)::testing::internal::GetCapturedStderr();
  const absl::Duration tolerance = absl::Microseconds(100);
  const std::vector<absl::Duration> want = {absl::Milliseconds(500), absl::Seconds(1),
                                            absl::Seconds(2),        absl::Seconds(4),
                                            absl::Seconds(4),        absl::Seconds(8)};
  ASSERT_EQ(delays.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_LE(absl::AbsDuration(delays[i] - want[i]), tolerance) << "retry " << i;
  }
  EXPECT_EQ(source_->calls(), 7);
}

TEST_F(RefreshingCredentialsProviderTest, RecoversAfterExpiryOnceARefreshSucceeds) {
  auto provider = Make(absl::Seconds(10));
  clock_.Set(kStart + absl::Seconds(11));
  ::testing::internal::CaptureStderr();
  (void)provider->RunDueRefresh();  // fails: nothing scripted
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(log, HasSubstr("previous credentials have expired"));
  EXPECT_THAT(provider->Get(), Not(IsOk()));

  source_->Push(Temporary(3, clock_.Now() + absl::Hours(1)));
  clock_.Set(provider->NextRefreshTime());
  ::testing::internal::CaptureStderr();
  (void)provider->RunDueRefresh();
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), HasSubstr("credentials refreshed"));
  absl::StatusOr<Credentials> back = provider->Get();
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->access_key_id, "STS.TEMPKEYID0003");
  // The failure count starts over: the next failure waits the initial backoff again.
  clock_.Set(provider->NextRefreshTime());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(provider->RunDueRefresh() - clock_.Now(), absl::Milliseconds(500));
  (void)::testing::internal::GetCapturedStderr();
}

TEST_F(RefreshingCredentialsProviderTest, CreateFailsWithTheSourcesError) {
  auto source = std::make_unique<ScriptedSource>();
  source->Push(absl::FailedPreconditionError("STS AssumeRoleWithOIDC failed: HTTP 400"));
  auto provider = RefreshingCredentialsProvider::Create(std::move(source), clock_, {});
  ASSERT_THAT(provider, Not(IsOk()));
  EXPECT_EQ(provider.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(provider.status().message(), HasSubstr("HTTP 400"));
}

// The one real-time test: the background thread does call RunDueRefresh when due. Its bound is
// generous (the refresh is due after 1 s; the test allows 20 s) so machine load cannot fail it.
TEST(RefreshingCredentialsProviderThreadTest, BackgroundThreadRefreshesBeforeExpiry) {
  auto source = std::make_unique<ScriptedSource>();
  ScriptedSource* script = source.get();
  const absl::Time now = absl::Now();
  script->Push(Temporary(1, now + absl::Seconds(2)));
  script->Push(Temporary(2, now + absl::Hours(1)));
  auto provider = RefreshingCredentialsProvider::Create(std::move(source), SystemClock::Get(), {});
  ASSERT_THAT(provider, IsOk());
  ::testing::internal::CaptureStderr();
  (*provider)->StartBackgroundRefresh();
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (script->calls() < 2 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(20));
  const int calls = script->calls();
  provider->reset();  // stops and joins the thread (and destroys the script)
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(calls, 2);
  EXPECT_THAT(log, HasSubstr("credentials refreshed"));
  EXPECT_THAT(log, Not(HasSubstr("temp-secret")));
}

}  // namespace
}  // namespace ota
