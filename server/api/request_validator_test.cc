#include "server/api/request_validator.h"

#include <string>
#include <variant>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/api/page_token.h"

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

ota::v1::ListJobsByFirmwareRequest ListRequest(std::string firmware_id, std::string instance = "",
                                               int page_size = 0, std::string token = "") {
  ota::v1::ListJobsByFirmwareRequest request;
  request.set_firmware_id(std::move(firmware_id));
  request.set_iot_instance_id(std::move(instance));
  request.set_page_size(page_size);
  request.set_page_token(std::move(token));
  return request;
}

ListJobsPaging PagingOf(const ota::v1::ListJobsByFirmwareRequest& request) {
  std::variant<ListJobsPaging, CallOutcome> checked = ValidateListJobsByFirmwareRequest(request);
  EXPECT_TRUE(std::holds_alternative<ListJobsPaging>(checked))
      << std::get<CallOutcome>(checked).message;
  return std::holds_alternative<ListJobsPaging>(checked) ? std::get<ListJobsPaging>(checked)
                                                         : ListJobsPaging{};
}

CallOutcome RefusalOf(const ota::v1::ListJobsByFirmwareRequest& request) {
  std::variant<ListJobsPaging, CallOutcome> checked = ValidateListJobsByFirmwareRequest(request);
  EXPECT_TRUE(std::holds_alternative<CallOutcome>(checked));
  return std::holds_alternative<CallOutcome>(checked) ? std::get<CallOutcome>(checked)
                                                      : CallOutcome{};
}

TEST(ListRequestValidatorTest, PageSizeDefaultsAndIsCapped) {
  EXPECT_EQ(PagingOf(ListRequest("fw-1")).page_size, 50);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "", 7)).page_size, 7);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "", 200)).page_size, 200);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "", 201)).page_size, 200);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "iot-1", 2147483647)).page_size, 200);
  EXPECT_EQ(PagingOf(ListRequest("fw-1")).page, 1);
}

TEST(ListRequestValidatorTest, EachBadFieldHasItsReason) {
  struct Case {
    ota::v1::ListJobsByFirmwareRequest request;
    std::string field, reason;
  };
  for (const Case& c :
       {Case{ListRequest(""), "firmware_id", "INVALID_FIRMWARE_ID"},
        Case{ListRequest("fw 1"), "firmware_id", "INVALID_FIRMWARE_ID"},
        Case{ListRequest(std::string(65, 'f')), "firmware_id", "INVALID_FIRMWARE_ID"},
        Case{ListRequest("fw-1", "iot&x"), "iot_instance_id", "INVALID_IOT_INSTANCE_ID"},
        Case{ListRequest("fw-1", "", -1), "page_size", "INVALID_PAGE_SIZE"},
        Case{ListRequest("fw-1", "", 0, "garbage!"), "page_token", "INVALID_PAGE_TOKEN"}}) {
    const CallOutcome outcome = RefusalOf(c.request);
    EXPECT_EQ(outcome.code, absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_EQ(outcome.reason, c.reason) << c.field;
    EXPECT_EQ(outcome.domain, kGatewayDomain);
    EXPECT_THAT(outcome.field_violations, UnorderedElementsAre(Key(c.field)));
  }
  const CallOutcome several = RefusalOf(ListRequest("", "", -5));
  EXPECT_EQ(several.reason, "INVALID_REQUEST");
  EXPECT_THAT(several.field_violations, UnorderedElementsAre(Key("firmware_id"), Key("page_size")));
}

TEST(ListRequestValidatorTest, ATokenLeadsToItsPageOnlyWithTheSameFields) {
  const ListJobsPaging first = PagingOf(ListRequest("fw-1", "", 200));
  const std::string token = EncodePageToken(2, first.fingerprint);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "", 200, token)).page, 2);
  // 0 and 50 are the same page size, and so are 300 and 200.
  const std::string default_size = EncodePageToken(3, PagingOf(ListRequest("fw-1")).fingerprint);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "", 50, default_size)).page, 3);
  EXPECT_EQ(PagingOf(ListRequest("fw-1", "", 300, token)).page, 2);
  for (const auto& other :
       {ListRequest("fw-2", "", 200, token), ListRequest("fw-1", "i", 200, token),
        ListRequest("fw-1", "", 100, token)}) {
    const CallOutcome outcome = RefusalOf(other);
    EXPECT_EQ(outcome.reason, "INVALID_PAGE_TOKEN");
    EXPECT_THAT(outcome.message, HasSubstr("page_token was issued for a call with another"));
  }
}

}  // namespace
}  // namespace ota
