#include "server/credentials/rate_budget_key.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace ota {
namespace {

Credentials SignedWith(std::string access_key_id) {
  Credentials credentials;
  credentials.access_key_id = std::move(access_key_id);
  return credentials;
}

class PrincipalProvider final : public CredentialsProvider {
 public:
  explicit PrincipalProvider(std::string principal) : principal_(std::move(principal)) {}
  absl::StatusOr<Credentials> Get() override { return SignedWith("STS.x"); }
  std::string Describe() const override { return "test"; }
  std::string RateBudgetIdentity() const override { return principal_; }

 private:
  std::string principal_;
};

const Credentials kSigned = SignedWith("LTAIsigning01");

TEST(RateBudgetKeyTest, ConfiguredKeyWinsOverEverything) {
  const RateBudgetKey key = ChooseRateBudgetKey("1234567890", PrincipalProvider("account:42"));
  EXPECT_EQ(key.source, RateBudgetKey::Source::kConfigured);
  EXPECT_EQ(key.For(kSigned), "1234567890");
}

TEST(RateBudgetKeyTest, PrincipalOfTemporaryCredentialsWhenNoKeyIsConfigured) {
  const RateBudgetKey key = ChooseRateBudgetKey("", PrincipalProvider("ecs-ram-role:gateway"));
  EXPECT_EQ(key.source, RateBudgetKey::Source::kPrincipal);
  EXPECT_EQ(key.For(kSigned), "ecs-ram-role:gateway");
}

TEST(RateBudgetKeyTest, FollowsEachAttemptsAccessKeyIdOtherwise) {
  const RateBudgetKey key = ChooseRateBudgetKey("", PrincipalProvider(""));
  EXPECT_EQ(key.source, RateBudgetKey::Source::kAccessKeyId);
  EXPECT_EQ(key.For(kSigned), "LTAIsigning01");
  EXPECT_EQ(key.For(SignedWith("LTAIrotated02")), "LTAIrotated02");
}

}  // namespace
}  // namespace ota
