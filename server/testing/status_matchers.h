// Status matchers for GoogleTest (Debian's Abseil 20220623 ships none): a failed expectation
// prints the status it got, instead of "Value of: x.ok(), Actual: false".
//
//   ASSERT_THAT(provider, ota::testing::IsOk());      // absl::Status, absl::StatusOr<T>,
//                                                     // grpc::Status, anything with ok()
//   EXPECT_THAT(result, ota::testing::StatusIs(absl::StatusCode::kNotFound,
//                                              ::testing::HasSubstr("no such job")));
//   EXPECT_THAT(result, ota::testing::StatusIs(absl::StatusCode::kInvalidArgument));
#pragma once

#include <gmock/gmock.h>

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ota::testing {

inline const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// What a status-like value says, for the failure message.
template <typename T>
std::string DescribeStatus(const T& value) {
  if constexpr (requires { value.error_message(); }) {  // grpc::Status
    return absl::StrCat("code ", static_cast<int>(value.error_code()), ": ", value.error_message());
  } else if constexpr (requires { StatusOf(value); }) {  // absl::Status, absl::StatusOr<T>
    return StatusOf(value).ToString();
  } else {
    return "not OK";  // any other type with ok()
  }
}

MATCHER(IsOk, negation ? "is not OK" : "is OK") {
  if (arg.ok()) return true;
  *result_listener << "whose status is " << DescribeStatus(arg);
  return false;
}

MATCHER_P(StatusIs, code,
          absl::StrCat(negation ? "doesn't have" : "has", " code ",
                       absl::StatusCodeToString(code))) {
  const absl::Status& status = StatusOf(arg);
  if (status.code() == code) return true;
  *result_listener << "whose status is " << status;
  return false;
}

MATCHER_P2(StatusIs, code, message_matcher,
           absl::StrCat(negation ? "doesn't have" : "has", " code ", absl::StatusCodeToString(code),
                        " and a message that ",
                        ::testing::DescribeMatcher<std::string>(message_matcher, negation))) {
  const absl::Status& status = StatusOf(arg);
  if (status.code() != code) {
    *result_listener << "whose status is " << status;
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace ota::testing
