#include "server/api/request_validator.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::UnorderedElementsAre;

ota::v1::CancelByJobRequest Request(std::string job_id, std::string instance = "") {
  ota::v1::CancelByJobRequest request;
  request.set_job_id(std::move(job_id));
  request.set_iot_instance_id(std::move(instance));
  return request;
}

TEST(RequestValidatorTest, AcceptsAlibabaShapedIds) {
  EXPECT_FALSE(ValidateCancelByJobRequest(Request("HvKuBpuk3rdk6E92CP0200")).has_value());
  EXPECT_FALSE(ValidateCancelByJobRequest(Request("job_1-A", "iot-cn-0pp1n8t")).has_value());
  EXPECT_FALSE(ValidateCancelByJobRequest(Request(std::string(kMaxIdLength, 'a'))).has_value());
}

TEST(RequestValidatorTest, JobIdIsRequired) {
  auto outcome = ValidateCancelByJobRequest(Request(""));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->code, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(outcome->reason, "INVALID_JOB_ID");
  EXPECT_EQ(outcome->domain, kGatewayDomain);
  EXPECT_THAT(outcome->message, HasSubstr("job_id is required"));
  EXPECT_THAT(outcome->field_violations, UnorderedElementsAre(Key("job_id")));
}

TEST(RequestValidatorTest, RejectsCharactersThatCouldAlterTheUpstreamRequest) {
  for (const char* bad : {"J1&Action=Other", "J1 2", "J1=", "J1%26", "J1/..", "J1\n", "J1?x",
                          "\xE4\xB8\xAD", "J1+"}) {
    auto outcome = ValidateCancelByJobRequest(Request(bad));
    ASSERT_TRUE(outcome.has_value()) << bad;
    EXPECT_EQ(outcome->code, absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(outcome->message, HasSubstr("job_id has a character that is not allowed"));
  }
}

TEST(RequestValidatorTest, RejectsOverlongIdsWithoutEchoingThem) {
  const std::string huge(10000, 'x');
  auto outcome = ValidateCancelByJobRequest(Request(huge));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_THAT(outcome->message, HasSubstr("10000 characters long; at most 64"));
  EXPECT_LT(outcome->message.size(), 200U);
}

TEST(RequestValidatorTest, InstanceIdIsOptionalButValidatedWhenSet) {
  auto outcome = ValidateCancelByJobRequest(Request("job1", "iot&x=1"));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->reason, "INVALID_IOT_INSTANCE_ID");
  EXPECT_THAT(outcome->field_violations, UnorderedElementsAre(Key("iot_instance_id")));
}

TEST(RequestValidatorTest, NamesEveryBadField) {
  auto outcome = ValidateCancelByJobRequest(Request("", std::string(65, 'i')));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->reason, "INVALID_REQUEST");
  EXPECT_THAT(outcome->field_violations,
              UnorderedElementsAre(Key("job_id"), Key("iot_instance_id")));
  EXPECT_THAT(outcome->message, HasSubstr("iot_instance_id is 65 characters long"));
}

}  // namespace
}  // namespace ota
