#include "cli_flags/url_with_credentials_flag.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "gtest/gtest.h"

ABSL_FLAG(ota::UrlWithCredentials, test_url, {"redis://127.0.0.1:6379/0"}, "for the test");

namespace ota {
namespace {

TEST(MaskUrlCredentialsTest, MasksUserinfoOnly) {
  EXPECT_EQ(MaskUrlCredentials("redis://:pw@h:6379/0"), "redis://***@h:6379/0");
  EXPECT_EQ(MaskUrlCredentials("rediss://user:p%40ss@h/0"), "rediss://***@h/0");
  EXPECT_EQ(MaskUrlCredentials("redis://u:a@b@h:1"), "redis://***@h:1");  // the last '@' ends it
  EXPECT_EQ(MaskUrlCredentials("redis://127.0.0.1:6379/0"), "redis://127.0.0.1:6379/0");
  EXPECT_EQ(MaskUrlCredentials("redis://h/0?x=a@b"), "redis://h/0?x=a@b");  // '@' past the host
  EXPECT_EQ(MaskUrlCredentials("user:pw@h:1"), "***@h:1");                  // no scheme
  EXPECT_EQ(MaskUrlCredentials(""), "");
}

// What --helpfull prints ("currently: ...") is CurrentValue(), also after an environment fallback
// set the flag through ParseFrom.
TEST(UrlWithCredentialsFlagTest, PrintedValueIsMaskedButTheFlagKeepsThePassword) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag("test_url");
  ASSERT_NE(flag, nullptr);
  std::string error;
  ASSERT_TRUE(flag->ParseFrom("redis://:s3cret-pw@redis.internal:6379/2", &error)) << error;
  EXPECT_EQ(flag->CurrentValue(), "redis://***@redis.internal:6379/2");
  EXPECT_EQ(flag->DefaultValue(), "redis://127.0.0.1:6379/0");
  EXPECT_EQ(absl::GetFlag(FLAGS_test_url).url, "redis://:s3cret-pw@redis.internal:6379/2");
}

}  // namespace
}  // namespace ota
