#include "server/call/firmware_job_page.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

TEST(FirmwareJobPageTest, ReadsAlibabasAnswer) {
  absl::StatusOr<FirmwareJobPage> page = ParseFirmwareJobPage(R"({
    "RequestId": "R-1", "Success": true, "Total": 205, "PageSize": 200, "PageCount": 2,
    "CurrentPage": 1,
    "Data": {"SimpleOTAJobInfo": [
      {"JobId": "J-1", "FirmwareId": "fw-1", "ProductKey": "pk", "JobStatus": "IN_PROGRESS",
       "JobType": "UPGRADE_FIRMWARE", "SelectionType": "DYNAMIC", "TargetSelection": "ALL",
       "UtcCreate": "2019-12-28T02:43:10.000Z", "UtcModified": "2019-12-29T02:43:10.000Z",
       "Tags": {"OtaTagDTO": []}}]}})");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->total, 205);
  EXPECT_EQ(page->page_count, 2);
  EXPECT_EQ(page->current_page, 1);
  ASSERT_EQ(page->jobs.size(), 1u);
  const FirmwareJobInfo& job = page->jobs[0];
  EXPECT_EQ(job.job_id, "J-1");
  EXPECT_EQ(job.firmware_id, "fw-1");
  EXPECT_EQ(job.product_key, "pk");
  EXPECT_EQ(job.job_status, "IN_PROGRESS");
  EXPECT_EQ(job.job_type, "UPGRADE_FIRMWARE");
  EXPECT_EQ(job.selection_type, "DYNAMIC");
  EXPECT_EQ(job.utc_create, "2019-12-28T02:43:10.000Z");
  EXPECT_EQ(job.utc_modified, "2019-12-29T02:43:10.000Z");
}

TEST(FirmwareJobPageTest, MissingOrMistypedPartsReadAsEmpty) {
  absl::StatusOr<FirmwareJobPage> page = ParseFirmwareJobPage(R"({"Success": true})");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->jobs.empty());
  EXPECT_EQ(page->total, 0);
  page = ParseFirmwareJobPage(R"({"Total": "x", "Data": {"SimpleOTAJobInfo": [
      1, {"JobId": 7, "JobStatus": null}]}})");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 0);
  ASSERT_EQ(page->jobs.size(), 1u);  // the non-object entry is skipped
  EXPECT_EQ(page->jobs[0].job_id, "");
  EXPECT_EQ(page->jobs[0].job_status, "");
  page = ParseFirmwareJobPage(R"({"Data": null, "Total": 18446744073709551615})");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, INT64_MAX);
}

TEST(FirmwareJobPageTest, OnlyABodyThatIsNoJsonObjectFails) {
  for (const char* bad : {"", "<html>", "[]", "\"x\"", "{", "null"}) {
    EXPECT_FALSE(ParseFirmwareJobPage(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ota
