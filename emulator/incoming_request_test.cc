#include "emulator/incoming_request.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(IncomingRequestTest, DecodesQueryAndLowerCasesHeaders) {
  const IncomingRequest r = MakeIncomingRequest(
      "POST", "/?Action=CancelOTAStrategyByJob&JobId=a%2Fb%20c&Empty=&JobId=second",
      {{"Host", "127.0.0.1:1"}, {"X-Acs-Date", "d"}}, "");
  EXPECT_EQ(r.path, "/");
  EXPECT_THAT(r.query, UnorderedElementsAre(Pair("Action", "CancelOTAStrategyByJob"),
                                            Pair("JobId", "a/b c"), Pair("Empty", "")));
  EXPECT_EQ(r.Header("host"), "127.0.0.1:1");
  EXPECT_EQ(r.Header("x-acs-date"), "d");
  EXPECT_EQ(r.Header("missing"), "");
  EXPECT_THAT(r.form, IsEmpty());
}

TEST(IncomingRequestTest, ParsesFormBodiesOnlyWhenDeclared) {
  const IncomingRequest form =
      MakeIncomingRequest("POST", "/", {{"Content-Type", "application/x-www-form-urlencoded"}},
                          "JobId=j%2A1&IotInstanceId=i+1");
  EXPECT_THAT(form.form, UnorderedElementsAre(Pair("JobId", "j*1"), Pair("IotInstanceId", "i 1")));
  EXPECT_THAT(form.query, IsEmpty());

  const IncomingRequest json =
      MakeIncomingRequest("POST", "/", {{"Content-Type", "application/json"}}, "JobId=x");
  EXPECT_THAT(json.form, IsEmpty());
  EXPECT_EQ(json.body, "JobId=x");
}

}  // namespace
}  // namespace ota
