#include "server/call/upstream_reply.h"

#include <string>

#include "gtest/gtest.h"

namespace ota {
namespace {

HttpResponse Response(int status, std::string body, HeaderList headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

TEST(ParseUpstreamReplyTest, DocumentedSuccess) {
  const UpstreamReply reply = ParseUpstreamReply(
      Response(200, R"({"RequestId":"291438BA-6E10-4C4C-B761-243B9A0D324F","Success":true})"));
  EXPECT_EQ(reply.http_status, 200);
  EXPECT_TRUE(reply.parsed);
  EXPECT_TRUE(reply.success);
  EXPECT_EQ(reply.request_id, "291438BA-6E10-4C4C-B761-243B9A0D324F");
  EXPECT_EQ(reply.code, "");
  EXPECT_EQ(reply.message, "");
  EXPECT_FALSE(reply.retry_after.has_value());
}

TEST(ParseUpstreamReplyTest, ApiFailureShape) {
  const UpstreamReply reply = ParseUpstreamReply(
      Response(200, R"({"RequestId":"R1","Success":false,"Code":"iot.system.SystemException",)"
                    R"("ErrorMessage":"A system exception occurred."})"));
  EXPECT_TRUE(reply.parsed);
  EXPECT_FALSE(reply.success);
  EXPECT_EQ(reply.request_id, "R1");
  EXPECT_EQ(reply.code, "iot.system.SystemException");
  EXPECT_EQ(reply.message, "A system exception occurred.");
}

TEST(ParseUpstreamReplyTest, GatewayFailureShape) {
  const UpstreamReply reply = ParseUpstreamReply(Response(
      404,
      R"({"RequestId":"R2","HostId":"iot.cn-shanghai.aliyuncs.com","Code":"InvalidAccessKeyId.NotFound",)"
      R"("Message":"Specified access key is not found.","Recommend":"https://example.invalid/x"})"));
  EXPECT_TRUE(reply.parsed);
  EXPECT_FALSE(reply.success);
  EXPECT_EQ(reply.http_status, 404);
  EXPECT_EQ(reply.request_id, "R2");
  EXPECT_EQ(reply.code, "InvalidAccessKeyId.NotFound");
  EXPECT_EQ(reply.message, "Specified access key is not found.");
}

TEST(ParseUpstreamReplyTest, ErrorMessageWinsOverMessage) {
  const UpstreamReply reply = ParseUpstreamReply(
      Response(200, R"({"Success":false,"Code":"X","Message":"gateway","ErrorMessage":"api"})"));
  EXPECT_EQ(reply.message, "api");
  const UpstreamReply empty_error_message = ParseUpstreamReply(
      Response(200, R"({"Success":false,"Code":"X","Message":"gateway","ErrorMessage":""})"));
  EXPECT_EQ(empty_error_message.message, "gateway");
}

TEST(ParseUpstreamReplyTest, SuccessAsString) {
  EXPECT_TRUE(ParseUpstreamReply(Response(200, R"({"RequestId":"R","Success":"true"})")).success);
  EXPECT_TRUE(ParseUpstreamReply(Response(200, R"({"RequestId":"R","Success":"True"})")).success);
  const UpstreamReply refused = ParseUpstreamReply(
      Response(200, R"({"RequestId":"R","Success":"false","Code":"iot.ota.OtaJobNotExist"})"));
  EXPECT_TRUE(refused.parsed);
  EXPECT_FALSE(refused.success);
  EXPECT_EQ(refused.code, "iot.ota.OtaJobNotExist");
}

TEST(ParseUpstreamReplyTest, SuccessNeedsTrueAndTwoHundred) {
  // Missing, null, numeric or odd strings are not success.
  EXPECT_FALSE(ParseUpstreamReply(Response(200, R"({"RequestId":"R"})")).success);
  EXPECT_FALSE(ParseUpstreamReply(Response(200, R"({"Success":null})")).success);
  EXPECT_FALSE(ParseUpstreamReply(Response(200, R"({"Success":1})")).success);
  EXPECT_FALSE(ParseUpstreamReply(Response(200, R"({"Success":"yes"})")).success);
  // A 2xx other than 200 is fine; a non-2xx is never success, whatever the body says.
  EXPECT_TRUE(ParseUpstreamReply(Response(204, R"({"Success":true})")).success);
  const UpstreamReply odd = ParseUpstreamReply(Response(500, R"({"Success":true,"Code":"X"})"));
  EXPECT_TRUE(odd.parsed);
  EXPECT_FALSE(odd.success);
  EXPECT_EQ(odd.code, "X");
  EXPECT_FALSE(ParseUpstreamReply(Response(302, R"({"Success":true})")).success);
}

TEST(ParseUpstreamReplyTest, FieldsOfTheWrongTypeAreIgnored) {
  const UpstreamReply reply = ParseUpstreamReply(
      Response(400, R"({"RequestId":42,"Code":["Throttling"],"Message":{"text":"x"}})"));
  EXPECT_TRUE(reply.parsed);
  EXPECT_EQ(reply.request_id, "");
  EXPECT_EQ(reply.code, "");
  EXPECT_EQ(reply.message, "");
}

TEST(ParseUpstreamReplyTest, NonJsonBodiesAreNotParsed) {
  for (const std::string body :
       {"", "<html><body>502 Bad Gateway</body></html>", "{\"RequestId\":\"R\",", "[1,2,3]",
        "\"Success\"", "true", "null", "{} trailing"}) {
    const UpstreamReply reply = ParseUpstreamReply(Response(502, body));
    EXPECT_FALSE(reply.parsed) << body;
    EXPECT_FALSE(reply.success) << body;
    EXPECT_EQ(reply.http_status, 502) << body;
    EXPECT_EQ(reply.code, "") << body;
  }
}

TEST(ParseUpstreamReplyTest, XmlSuccessIsNotMistakenForJson) {
  const UpstreamReply reply = ParseUpstreamReply(
      Response(200,
               "<CancelOTAStrategyByJobResponse><RequestId>A</RequestId><Success>true</Success>"
               "</CancelOTAStrategyByJobResponse>"));
  EXPECT_FALSE(reply.parsed);
  EXPECT_FALSE(reply.success);
}

TEST(ParseUpstreamReplyTest, RetryAfterHeaderInMilliseconds) {
  const std::string body = R"({"RequestId":"R","Code":"Throttling.User","Message":"flow control"})";
  struct Case {
    std::string header;
    std::optional<absl::Duration> expected;
  };
  const std::vector<Case> cases = {
      {"1500", absl::Milliseconds(1500)},
      {" 250 ", absl::Milliseconds(250)},
      {"0", absl::ZeroDuration()},
      {"60000", absl::Seconds(60)},
      {"600000", absl::Seconds(60)},              // capped
      {"99999999999999999999999", std::nullopt},  // overflows: ignored
      {"-5", std::nullopt},
      {"soon", std::nullopt},
      {"1.5", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) {
    const UpstreamReply reply =
        ParseUpstreamReply(Response(400, body, {{"x-acs-retry-after", c.header}}));
    EXPECT_EQ(reply.retry_after, c.expected) << "header '" << c.header << "'";
  }
  EXPECT_FALSE(ParseUpstreamReply(Response(400, body)).retry_after.has_value());
  // Read even when the body is not JSON (a proxy may throttle too).
  EXPECT_EQ(ParseUpstreamReply(Response(503, "busy", {{"x-acs-retry-after", "700"}})).retry_after,
            absl::Milliseconds(700));
}

}  // namespace
}  // namespace ota
