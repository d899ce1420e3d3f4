#include "server/base/url_redaction.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace ota {
namespace {

TEST(RedactedUrlTest, MasksUserinfoQueryAndFragment) {
  EXPECT_EQ(RedactedUrl("https://iot.cn-shanghai.aliyuncs.com/"),
            "https://iot.cn-shanghai.aliyuncs.com/");
  EXPECT_EQ(RedactedUrl("https://user:secret@iot.example:8443/path"),
            "https://***@iot.example:8443/path");
  EXPECT_EQ(RedactedUrl("https://iot.example/?AccessKeyId=LTAIkey&Signature=c2ln"),
            "https://iot.example/?...");
  EXPECT_EQ(RedactedUrl("http://iot.example/x#token=abc"), "http://iot.example/x#...");
  // An "@" in the path or query is not userinfo.
  EXPECT_EQ(RedactedUrl("https://iot.example/a@b"), "https://iot.example/a@b");
}

TEST(RedactUrlQueryTest, RemovesTheQueryWhereverItIsRepeated) {
  const std::string url =
      "https://iot.cn-shanghai.aliyuncs.com/?AccessKeyId=LTAIkey&Signature=c2ln";
  EXPECT_EQ(RedactUrlQuery(absl::StrCat("Failed to fetch ", url, " now"), url),
            "Failed to fetch https://iot.cn-shanghai.aliyuncs.com/?<redacted> now");
  // Without its "?", e.g. a decoded or re-quoted echo of the parameters.
  EXPECT_EQ(RedactUrlQuery("bad params 'AccessKeyId=LTAIkey&Signature=c2ln'", url),
            "bad params '<redacted>'");
  // Any other query-looking token, up to white space or a quote.
  EXPECT_EQ(RedactUrlQuery("see \"/x?Signature=other\" and /y?a=b c", url),
            "see \"/x?<redacted>\" and /y?<redacted> c");
  EXPECT_EQ(RedactUrlQuery("Could not resolve host: iot.example", url),
            "Could not resolve host: iot.example");
  EXPECT_EQ(RedactUrlQuery("no query here", "https://iot.example/"), "no query here");
}

}  // namespace
}  // namespace ota
