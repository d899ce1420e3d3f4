#include "client/job_list_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"

namespace ota::client {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseJobListTest, SkipsCommentsBlankLinesAndDuplicatesInFileOrder) {
  const absl::StatusOr<JobList> list = ParseJobList(
      "# firmware 2.3.1 incident\n"
      "JOB-1\n"
      "\n"
      "  JOB-2 , iot-cn-1   # trailing comment\n"
      "JOB-1\n"
      "JOB-1,iot-cn-1\n"
      "\r\n");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(list->jobs, ElementsAre(BatchJob{.job_id = "JOB-1", .iot_instance_id = ""},
                                      BatchJob{.job_id = "JOB-2", .iot_instance_id = "iot-cn-1"},
                                      BatchJob{.job_id = "JOB-1", .iot_instance_id = "iot-cn-1"}));
  EXPECT_THAT(list->warnings, ElementsAre("line 5: JOB-1 repeats line 2; skipped"));
}

TEST(ParseJobListTest, EmptyTextIsAnEmptyList) {
  const absl::StatusOr<JobList> list = ParseJobList("");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->jobs.empty());
}

TEST(ParseJobListTest, InvalidLinesNameTheLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  for (const Case& c : {
           Case{"JOB-1\nJOB 2\n", "line 2: job id 'JOB 2'"},
           Case{"JOB-1,iot,extra\n", "line 1: expected JOB_ID or JOB_ID,IOT_INSTANCE_ID"},
           Case{"\n\nJOB-1,\n", "line 3: IoT instance id ''"},
           Case{",iot-1\n", "line 1: job id ''"},
           Case{std::string(65, 'a') + "\n", "line 1: job id"},
           Case{"JOB-1,iot/1\n", "line 1: IoT instance id 'iot/1'"},
       }) {
    const absl::StatusOr<JobList> list = ParseJobList(c.text);
    ASSERT_FALSE(list.ok()) << c.text;
    EXPECT_EQ(list.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(list.status().message()), HasSubstr(c.message)) << c.text;
  }
}

TEST(IsValidBatchIdTest, AcceptsTheGatewaysAlphabetUpTo64) {
  EXPECT_TRUE(IsValidBatchId("HvKuBpuk3rdk6E92CP0200"));
  EXPECT_TRUE(IsValidBatchId(std::string(64, 'x')));
  EXPECT_TRUE(IsValidBatchId("a_b-c"));
  EXPECT_FALSE(IsValidBatchId(""));
  EXPECT_FALSE(IsValidBatchId(std::string(65, 'x')));
  EXPECT_FALSE(IsValidBatchId("a.b"));
}

}  // namespace
}  // namespace ota::client
