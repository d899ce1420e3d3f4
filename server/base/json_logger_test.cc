#include "server/base/json_logger.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

// The one line Log writes to stderr for these arguments, parsed.
nlohmann::ordered_json LoggedLine(LogLevel level, const std::string& message,
                                  const nlohmann::ordered_json& fields) {
  ::testing::internal::CaptureStderr();
  Log(level, message, fields);
  const std::string text = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "exactly one line: " << text;
  return nlohmann::ordered_json::parse(text);
}

class JsonLoggerTest : public ::testing::Test {
 protected:
  void TearDown() override { SetMinLogLevel(LogLevel::kInfo); }
};

TEST_F(JsonLoggerTest, LineStartsWithTimeLevelAndMessageThenTheFieldsInOrder) {
  const nlohmann::ordered_json line =
      LoggedLine(LogLevel::kWarning, "call \"finished\"\n",
                 {{"job_id", "J1"}, {"attempts", 2}, {"latency_ms", 1.5}, {"shared", true}});
  std::vector<std::string> keys;
  for (const auto& [key, value] : line.items()) keys.push_back(key);
  EXPECT_THAT(keys, ::testing::ElementsAre("time", "level", "msg", "job_id", "attempts",
                                           "latency_ms", "shared"));
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["msg"], "call \"finished\"\n");  // escaped on the way out, intact on the way in
  EXPECT_EQ(line["job_id"], "J1");
  EXPECT_EQ(line["attempts"], 2);
  EXPECT_EQ(line["latency_ms"], 1.5);
  EXPECT_EQ(line["shared"], true);
  EXPECT_THAT(line["time"].get<std::string>(),
              ::testing::MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z"));
}

TEST_F(JsonLoggerTest, LineWithoutFieldsIsAValidObject) {
  const nlohmann::ordered_json line = LoggedLine(LogLevel::kError, "stopping", {});
  EXPECT_EQ(line.size(), 3u);
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["msg"], "stopping");
}

TEST_F(JsonLoggerTest, InvalidUtf8IsReplacedSoTheLineStaysJson) {
  const nlohmann::ordered_json line =
      LoggedLine(LogLevel::kInfo, "bad \xff message", {{"identity", "caller-\xc3"}});
  EXPECT_THAT(line["msg"].get<std::string>(), HasSubstr("\xef\xbf\xbd"));  // U+FFFD
  EXPECT_THAT(line["identity"].get<std::string>(), HasSubstr("\xef\xbf\xbd"));
}

TEST_F(JsonLoggerTest, LevelsBelowTheMinimumWriteNothing) {
  SetMinLogLevel(LogLevel::kWarning);
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
  EXPECT_TRUE(LogEnabled(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  Log(LogLevel::kInfo, "hidden", {{"job_id", "J1"}});
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(ParseLogLevelTest, AcceptsTheDocumentedNamesInAnyCase) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("warn"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("Warning"), LogLevel::kWarning);
  EXPECT_THAT(ParseLogLevel("verbose"), Not(IsOk()));
}

}  // namespace
}  // namespace ota
