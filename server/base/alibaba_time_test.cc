#include "server/base/alibaba_time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>

#include "absl/time/civil_time.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::ota::testing::StatusIs;
using ::testing::HasSubstr;

// Alibaba's signature documentation example time.
constexpr absl::Time kNow = absl::FromUnixSeconds(1456231584);

TEST(FormatAlibabaTimestampTest, UtcSecondsWithZ) {
  EXPECT_EQ(FormatAlibabaTimestamp(kNow), "2016-02-23T12:46:24Z");
  EXPECT_EQ(FormatAlibabaTimestamp(kNow + absl::Milliseconds(999)), "2016-02-23T12:46:24Z");
  EXPECT_EQ(FormatAlibabaTimestamp(absl::UnixEpoch()), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatAlibabaTimestamp(
                absl::FromCivil(absl::CivilSecond(2031, 12, 31, 23, 59, 59), absl::UTCTimeZone())),
            "2031-12-31T23:59:59Z");
  // Hand formatting must agree with absl's formatter across the range a clock can show.
  for (int64_t seconds = 0; seconds < 4'000'000'000; seconds += 7'777'777) {
    const absl::Time t = absl::FromUnixSeconds(seconds);
    EXPECT_EQ(FormatAlibabaTimestamp(t),
              absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone()));
  }
}

TEST(ParseAlibabaTimeTest, ReadsUtcSecondsAndOtherRfc3339Forms) {
  const absl::StatusOr<absl::Time> parsed = ParseAlibabaTime("2016-02-23T12:46:24Z");
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, kNow);
  EXPECT_EQ(*ParseAlibabaTime("2016-02-23T20:46:24.5+08:00"), kNow + absl::Milliseconds(500));
  EXPECT_EQ(*ParseAlibabaTime(FormatAlibabaTimestamp(kNow)), kNow);
}

TEST(ParseAlibabaTimeTest, RefusesOtherFormsNamingTheText) {
  EXPECT_THAT(ParseAlibabaTime("2016-02-23 12:46:24"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'2016-02-23 12:46:24'")));
  EXPECT_THAT(ParseAlibabaTime(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace ota
