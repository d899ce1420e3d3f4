#include "emulator/nonce_registry.h"

#include "gtest/gtest.h"
#include "server/base/clock.h"
#include "server/testing/fake_clock.h"

namespace ota {
namespace {

using ::ota::testing::FakeClock;

TEST(NonceRegistryTest, RefusesReuseByTheSameKeyWithinRetention) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  NonceRegistry nonces(absl::Minutes(15), clock);
  EXPECT_TRUE(nonces.Remember("key-1", "n1"));
  EXPECT_FALSE(nonces.Remember("key-1", "n1"));
  EXPECT_TRUE(nonces.Remember("key-2", "n1"));  // another key may use the same nonce
  EXPECT_TRUE(nonces.Remember("key-1", "n2"));
  clock.Advance(absl::Minutes(15) - absl::Seconds(1));
  EXPECT_FALSE(nonces.Remember("key-1", "n1"));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(nonces.Remember("key-1", "n1"));  // expired, remembered anew
  EXPECT_FALSE(nonces.Remember("key-1", "n1"));
}

TEST(NonceRegistryTest, KeyAndNonceDoNotRunTogether) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  NonceRegistry nonces(absl::Minutes(15), clock);
  EXPECT_TRUE(nonces.Remember("ab", "c"));
  EXPECT_TRUE(nonces.Remember("a", "bc"));
}

TEST(NonceRegistryTest, ResetForgetsEverything) {
  FakeClock clock(absl::FromUnixSeconds(1700000000));
  NonceRegistry nonces(absl::Minutes(15), clock);
  EXPECT_TRUE(nonces.Remember("k", "n"));
  nonces.Reset();
  EXPECT_TRUE(nonces.Remember("k", "n"));
}

}  // namespace
}  // namespace ota
