#include "server/call/upstream_throttle.h"

#include "gtest/gtest.h"
#include "server/call/error_mapping.h"
#include "server/call/upstream_reply.h"

namespace ota {
namespace {

CallOutcome Mapped(int status, const std::string& body, HeaderList headers = {}) {
  return ErrorMapper().FromReply(ParseUpstreamReply(
      HttpResponse{.status = status, .headers = std::move(headers), .body = body}));
}

TEST(ThrottlePauseTest, ThrottlingCodesPauseForTheHintOrOneWindow) {
  const std::string throttled = R"({"RequestId":"R","Code":"Throttling.User","Message":"x"})";
  EXPECT_EQ(ThrottlePause(Mapped(400, throttled)), absl::Seconds(1));
  EXPECT_EQ(ThrottlePause(Mapped(400, throttled, {{"x-acs-retry-after", "1500"}})),
            absl::Milliseconds(1500));
  EXPECT_EQ(ThrottlePause(Mapped(400, R"({"RequestId":"R","Code":"Throttling","Message":"x"})")),
            absl::Seconds(1));
}

TEST(ThrottlePauseTest, Http429AndA503WithAHintAreThrottles) {
  EXPECT_EQ(ThrottlePause(Mapped(429, "<html>slow down</html>")), absl::Seconds(1));
  const std::string unavailable =
      R"({"RequestId":"R","Code":"ServiceUnavailable","Message":"try later"})";
  EXPECT_EQ(ThrottlePause(Mapped(503, unavailable, {{"x-acs-retry-after", "800"}})),
            absl::Milliseconds(800));
  // Without a hint a 503 is an outage, not a throttle.
  EXPECT_EQ(ThrottlePause(Mapped(503, unavailable)), std::nullopt);
}

TEST(ThrottlePauseTest, OtherOutcomesAreNotThrottles) {
  EXPECT_EQ(ThrottlePause(Mapped(200, R"({"RequestId":"R","Success":true})")), std::nullopt);
  EXPECT_EQ(ThrottlePause(Mapped(
                200, R"({"RequestId":"R","Success":false,"Code":"iot.ota.OtaJobNotExist"})")),
            std::nullopt);
  EXPECT_EQ(ThrottlePause(ErrorMapper().FromTransportError(absl::UnavailableError("reset"))),
            std::nullopt);
  // The gateway's own RATE_LIMITED (its limiter refused) is not Alibaba throttling.
  EXPECT_EQ(ThrottlePause(GatewayError(absl::StatusCode::kResourceExhausted, "RATE_LIMITED", "x")),
            std::nullopt);
}

}  // namespace
}  // namespace ota
