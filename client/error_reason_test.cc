#include "client/error_reason.h"

#include <gtest/gtest.h>

#include <string>

namespace ota::client {
namespace {

TEST(ErrorReasonTest, ReasonStringIsTheNameWithoutItsPrefix) {
  EXPECT_EQ(ReasonString(ota::v1::ERROR_REASON_RATE_LIMITED), "RATE_LIMITED");
  EXPECT_EQ(ReasonString(ota::v1::ERROR_REASON_CALLER_UNAUTHENTICATED), "CALLER_UNAUTHENTICATED");
  EXPECT_EQ(ReasonString(ota::v1::ERROR_REASON_UNSPECIFIED), "UNSPECIFIED");
}

TEST(ErrorReasonTest, EveryReasonRoundTripsAndUnknownOnesAreUnspecified) {
  const google::protobuf::EnumDescriptor* reasons = ota::v1::ErrorReason_descriptor();
  for (int i = 0; i < reasons->value_count(); ++i) {
    const auto reason = static_cast<ota::v1::ErrorReason>(reasons->value(i)->number());
    EXPECT_EQ(ReasonFromString(ReasonString(reason)), reason) << reasons->value(i)->name();
  }
  EXPECT_EQ(ReasonFromString("NOT_A_REASON_OF_THIS_CONTRACT"), ota::v1::ERROR_REASON_UNSPECIFIED);
  EXPECT_EQ(ReasonFromString(""), ota::v1::ERROR_REASON_UNSPECIFIED);
}

TEST(ErrorReasonTest, DomainsComeFromTheirOption) {
  EXPECT_EQ(DomainString(ota::v1::ERROR_DOMAIN_GATEWAY), "ota-gateway");
  EXPECT_EQ(DomainString(ota::v1::ERROR_DOMAIN_ALIBABA_IOT), "iot.aliyuncs.com");
  EXPECT_EQ(DomainString(ota::v1::ERROR_DOMAIN_UNSPECIFIED), "");
}

}  // namespace
}  // namespace ota::client
