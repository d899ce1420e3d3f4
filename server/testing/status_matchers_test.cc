#include "server/testing/status_matchers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ota::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(StatusMatchersTest, IsOkTellsOkFromErrorsForStatusAndStatusOr) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(7), IsOk());
  EXPECT_THAT(absl::NotFoundError("gone"), Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(absl::InternalError("x")), Not(IsOk()));
}

TEST(StatusMatchersTest, IsOkExplainsAFailureWithTheStatus) {
  ::testing::StringMatchResultListener listener;
  EXPECT_FALSE(
      ::testing::ExplainMatchResult(IsOk(), absl::NotFoundError("no such job"), &listener));
  EXPECT_THAT(listener.str(), HasSubstr("NOT_FOUND: no such job"));
}

TEST(StatusMatchersTest, StatusIsChecksTheCodeAndTheMessage) {
  const absl::Status status = absl::InvalidArgumentError("--qps: must be positive");
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--qps")));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(status, Not(StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--burst"))));
  EXPECT_THAT(absl::StatusOr<int>(status), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(absl::StatusOr<int>(3), StatusIs(absl::StatusCode::kOk));
}

}  // namespace
}  // namespace ota::testing
