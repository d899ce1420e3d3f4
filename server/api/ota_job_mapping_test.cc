#include "server/api/ota_job_mapping.h"

#include "gtest/gtest.h"

namespace ota {
namespace {

TEST(OtaJobMappingTest, MapsEveryFieldOfAKnownJob) {
  const ota::v1::OtaJob job = ToOtaJob({.job_id = "J-1",
                                        .firmware_id = "fw-1",
                                        .product_key = "pk",
                                        .job_status = "IN_PROGRESS",
                                        .job_type = "UPGRADE_FIRMWARE",
                                        .selection_type = "DYNAMIC",
                                        .utc_create = "2019-12-28T02:43:10.000Z",
                                        .utc_modified = "2019-12-28T02:43:10.250Z"});
  EXPECT_EQ(job.job_id(), "J-1");
  EXPECT_EQ(job.firmware_id(), "fw-1");
  EXPECT_EQ(job.product_key(), "pk");
  EXPECT_EQ(job.job_status(), ota::v1::JOB_STATUS_IN_PROGRESS);
  EXPECT_EQ(job.job_type(), ota::v1::JOB_TYPE_UPGRADE_FIRMWARE);
  EXPECT_EQ(job.selection_type(), ota::v1::SELECTION_TYPE_DYNAMIC);
  ASSERT_TRUE(job.has_create_time());
  EXPECT_EQ(job.create_time().seconds(), 1577500990);
  EXPECT_EQ(job.create_time().nanos(), 0);
  ASSERT_TRUE(job.has_update_time());
  EXPECT_EQ(job.update_time().seconds(), 1577500990);
  EXPECT_EQ(job.update_time().nanos(), 250000000);
}

TEST(OtaJobMappingTest, EveryAlibabaSpellingMaps) {
  EXPECT_EQ(JobStatusOf("PLANNED"), ota::v1::JOB_STATUS_PLANNED);
  EXPECT_EQ(JobStatusOf("in_progress"), ota::v1::JOB_STATUS_IN_PROGRESS);
  EXPECT_EQ(JobStatusOf("COMPLETED"), ota::v1::JOB_STATUS_COMPLETED);
  EXPECT_EQ(JobStatusOf("CANCELED"), ota::v1::JOB_STATUS_CANCELED);
  EXPECT_EQ(SelectionTypeOf("STATIC"), ota::v1::SELECTION_TYPE_STATIC);
  EXPECT_EQ(SelectionTypeOf("DYNAMIC"), ota::v1::SELECTION_TYPE_DYNAMIC);
  EXPECT_EQ(JobTypeOf("VERIFY_FIRMWARE"), ota::v1::JOB_TYPE_VERIFY_FIRMWARE);
  EXPECT_EQ(JobTypeOf("UPGRADE_FIRMWARE"), ota::v1::JOB_TYPE_UPGRADE_FIRMWARE);
}

TEST(OtaJobMappingTest, UnknownValuesAreUnspecifiedAndBadTimesUnset) {
  const ota::v1::OtaJob job = ToOtaJob({.job_id = "J-2",
                                        .firmware_id = "",
                                        .product_key = "",
                                        .job_status = "PAUSED",
                                        .job_type = "",
                                        .selection_type = "SOMETIMES",
                                        .utc_create = "yesterday",
                                        .utc_modified = ""});
  EXPECT_EQ(job.job_status(), ota::v1::JOB_STATUS_UNSPECIFIED);
  EXPECT_EQ(job.job_type(), ota::v1::JOB_TYPE_UNSPECIFIED);
  EXPECT_EQ(job.selection_type(), ota::v1::SELECTION_TYPE_UNSPECIFIED);
  EXPECT_FALSE(job.has_create_time());
  EXPECT_FALSE(job.has_update_time());
}

}  // namespace
}  // namespace ota
