#include "client/firmware_job_selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/testing/simulated_sleeper.h"
#include "server/testing/fake_clock.h"

namespace ota::client {
namespace {

using ::ota::testing::FakeClock;
using ::ota::testing::SimulatedSleeper;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ota::v1::OtaJob Job(const std::string& id, ota::v1::SelectionType type, ota::v1::JobStatus status) {
  ota::v1::OtaJob job;
  job.set_job_id(id);
  job.set_selection_type(type);
  job.set_job_status(status);
  return job;
}

// Serves `jobs` in pages of the requested size, the token being the next offset.
ListPageCall Pages(const std::vector<ota::v1::OtaJob>& jobs,
                   std::vector<ota::v1::ListJobsByFirmwareRequest>* seen) {
  return [jobs, seen](const ota::v1::ListJobsByFirmwareRequest& request, absl::Duration) {
    seen->push_back(request);
    std::size_t offset = 0;
    if (!request.page_token().empty()) {
      EXPECT_TRUE(absl::SimpleAtoi(request.page_token(), &offset));
    }
    ListJobsResult result;
    for (std::size_t i = offset; i < jobs.size() && i < offset + request.page_size(); ++i) {
      *result.response.add_jobs() = jobs[i];
    }
    if (offset + request.page_size() < jobs.size()) {
      result.response.set_next_page_token(absl::StrCat(offset + request.page_size()));
    }
    return result;
  };
}

class FirmwareJobSelectionTest : public ::testing::Test {
 protected:
  FakeClock clock_{absl::FromUnixSeconds(1796600000)};
  SimulatedSleeper sleeper_{clock_};
  BatchRetryPolicy retry_{[] { return 1.0; }};
};

TEST_F(FirmwareJobSelectionTest, ReadsEveryPageWithTheLargestPageSize) {
  std::vector<ota::v1::OtaJob> jobs;
  for (int i = 0; i < 405; ++i) {
    jobs.push_back(Job(absl::StrCat("J", i), ota::v1::SELECTION_TYPE_DYNAMIC,
                       ota::v1::JOB_STATUS_IN_PROGRESS));
  }
  std::vector<ota::v1::ListJobsByFirmwareRequest> seen;
  const absl::StatusOr<std::vector<ota::v1::OtaJob>> listed = ListAllFirmwareJobs(
      Pages(jobs, &seen), "FW-1", "iot-1", absl::Seconds(30), retry_, sleeper_, clock_);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 405u);
  EXPECT_EQ(listed->back().job_id(), "J404");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].firmware_id(), "FW-1");
  EXPECT_EQ(seen[0].iot_instance_id(), "iot-1");
  EXPECT_EQ(seen[0].page_size(), 200);
  EXPECT_EQ(seen[0].page_token(), "");
  EXPECT_EQ(seen[2].page_token(), "400");
}

TEST_F(FirmwareJobSelectionTest, RetriesAThrottledPageThenFailsWithTheGatewaysError) {
  int calls = 0;
  const ListPageCall throttled = [&](const ota::v1::ListJobsByFirmwareRequest&, absl::Duration) {
    ++calls;
    CallError error;
    error.code = grpc::StatusCode::RESOURCE_EXHAUSTED;
    error.message = "quota";
    error.reason = "RATE_LIMITED";
    error.retry_delay = absl::Seconds(1);
    return ListJobsResult{.response = {}, .error = error};
  };
  const absl::StatusOr<std::vector<ota::v1::OtaJob>> listed =
      ListAllFirmwareJobs(throttled, "FW-1", "", absl::Seconds(3), retry_, sleeper_, clock_);
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(listed.status().message()),
              HasSubstr("firmware FW-1 (page 1): RESOURCE_EXHAUSTED: quota (reason=RATE_LIMITED"));
  // 1 s + 1 s attempt fits in 3 s and in 2 s; not in 1 s.
  EXPECT_EQ(calls, 3);
  EXPECT_THAT(sleeper_.delays(), ElementsAre(absl::Seconds(1), absl::Seconds(1)));
}

TEST_F(FirmwareJobSelectionTest, ARepeatedPageTokenEndsTheListing) {
  const ListPageCall endless = [](const ota::v1::ListJobsByFirmwareRequest&, absl::Duration) {
    ListJobsResult result;
    result.response.set_next_page_token("same");
    return result;
  };
  const absl::StatusOr<std::vector<ota::v1::OtaJob>> listed =
      ListAllFirmwareJobs(endless, "FW-1", "", absl::Seconds(3), retry_, sleeper_, clock_);
  ASSERT_FALSE(listed.ok());
  EXPECT_THAT(std::string(listed.status().message()), HasSubstr("twice"));
}

TEST(SelectCancellableTest, KeepsDynamicPlannedOrInProgressAndSaysWhyOthersAreSkipped) {
  const FirmwareSelection selection = SelectCancellable({
      Job("D1", ota::v1::SELECTION_TYPE_DYNAMIC, ota::v1::JOB_STATUS_IN_PROGRESS),
      Job("D2", ota::v1::SELECTION_TYPE_DYNAMIC, ota::v1::JOB_STATUS_PLANNED),
      Job("S1", ota::v1::SELECTION_TYPE_STATIC, ota::v1::JOB_STATUS_IN_PROGRESS),
      Job("F1", ota::v1::SELECTION_TYPE_DYNAMIC, ota::v1::JOB_STATUS_COMPLETED),
      Job("C1", ota::v1::SELECTION_TYPE_DYNAMIC, ota::v1::JOB_STATUS_CANCELED),
      Job("U1", ota::v1::SELECTION_TYPE_UNSPECIFIED, ota::v1::JOB_STATUS_IN_PROGRESS),
      Job("D1", ota::v1::SELECTION_TYPE_DYNAMIC, ota::v1::JOB_STATUS_IN_PROGRESS),
  });
  std::vector<std::string> cancel;
  for (const auto& job : selection.to_cancel) cancel.push_back(job.job_id());
  EXPECT_THAT(cancel, ElementsAre("D1", "D2"));
  std::vector<std::string> skipped;
  for (const auto& s : selection.skipped)
    skipped.push_back(absl::StrCat(s.job.job_id(), ": ", s.why));
  EXPECT_THAT(skipped,
              ElementsAre("S1: static batch (no dynamic policy)", "F1: not active (COMPLETED)",
                          "C1: not active (CANCELED)", "U1: selection type unknown"));
}

}  // namespace
}  // namespace ota::client
