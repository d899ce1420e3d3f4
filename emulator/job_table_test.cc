#include "emulator/job_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/fake_clock.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::ElementsAre;

JobTable DemoTable() {
  return JobTable(
      {{.job_id = "dyn", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "static", .state = JobState::kStatic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "done", .state = JobState::kFinished, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "gone", .state = JobState::kCancelled, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "inst-dyn",
        .state = JobState::kDynamic,
        .iot_instance_id = "iot-1",
        .firmware_id = ""}},
      {"iot-empty"});
}

TEST(JobTableTest, CancellingADynamicJobSucceedsOnceThenReportsItsStatus) {
  JobTable table = DemoTable();
  EXPECT_EQ(table.CancelStrategy("dyn", ""), CancelResult::kCancelled);
  EXPECT_EQ(table.CancelStrategy("dyn", ""), CancelResult::kJobStatusNotSupported);
  EXPECT_EQ(table.Snapshot().front().job_id, "done");  // ordered by id
  for (const JobSpec& job : table.Snapshot()) {
    if (job.job_id == "dyn") {
      EXPECT_EQ(job.state, JobState::kCancelled);
    }
  }
}

TEST(JobTableTest, EachNonDynamicStateHasItsOwnAnswer) {
  JobTable table = DemoTable();
  EXPECT_EQ(table.CancelStrategy("static", ""), CancelResult::kJobTypeNotSupported);
  EXPECT_EQ(table.CancelStrategy("done", ""), CancelResult::kJobStatusNotSupported);
  EXPECT_EQ(table.CancelStrategy("gone", ""), CancelResult::kJobStatusNotSupported);
  EXPECT_EQ(table.CancelStrategy("no-such-job", ""), CancelResult::kJobNotFound);
}

TEST(JobTableTest, InstancesScopeJobs) {
  JobTable table = DemoTable();
  // An unknown instance is reported before the job is even looked for.
  EXPECT_EQ(table.CancelStrategy("inst-dyn", "iot-unknown"), CancelResult::kInstanceNotFound);
  EXPECT_EQ(table.CancelStrategy("dyn", "iot-unknown"), CancelResult::kInstanceNotFound);
  // A job lives in exactly one instance (or in none).
  EXPECT_EQ(table.CancelStrategy("inst-dyn", ""), CancelResult::kJobNotFound);
  EXPECT_EQ(table.CancelStrategy("inst-dyn", "iot-empty"), CancelResult::kJobNotFound);
  EXPECT_EQ(table.CancelStrategy("dyn", "iot-1"), CancelResult::kJobNotFound);
  EXPECT_EQ(table.CancelStrategy("inst-dyn", "iot-1"), CancelResult::kCancelled);
}

TEST(JobTableTest, ResetRestoresInitialJobsAndDropsAddedOnes) {
  JobTable table = DemoTable();
  ASSERT_EQ(table.CancelStrategy("dyn", ""), CancelResult::kCancelled);
  table.Upsert({.job_id = "new",
                .state = JobState::kDynamic,
                .iot_instance_id = "iot-9",
                .firmware_id = ""});
  table.AddInstance("iot-10");
  EXPECT_EQ(table.CancelStrategy("new", "iot-9"), CancelResult::kCancelled);
  EXPECT_EQ(table.CancelStrategy("x", "iot-10"), CancelResult::kJobNotFound);

  table.Reset();
  EXPECT_EQ(table.Snapshot(), DemoTable().Snapshot());
  EXPECT_EQ(table.CancelStrategy("new", "iot-9"), CancelResult::kInstanceNotFound);
  EXPECT_EQ(table.CancelStrategy("x", "iot-10"), CancelResult::kInstanceNotFound);
  EXPECT_EQ(table.CancelStrategy("dyn", ""), CancelResult::kCancelled);
}

TEST(JobTableTest, UpsertReplacesAJobsState) {
  JobTable table = DemoTable();
  table.Upsert(
      {.job_id = "static", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""});
  EXPECT_EQ(table.CancelStrategy("static", ""), CancelResult::kCancelled);
}

TEST(JobTableTest, ParsesAndNamesStates) {
  EXPECT_EQ(*ParseJobState("Dynamic"), JobState::kDynamic);
  EXPECT_EQ(*ParseJobState("static"), JobState::kStatic);
  EXPECT_EQ(*ParseJobState("FINISHED"), JobState::kFinished);
  EXPECT_EQ(*ParseJobState("canceled"), JobState::kCancelled);
  EXPECT_THAT(ParseJobState("running"), Not(IsOk()));
  for (JobState s :
       {JobState::kDynamic, JobState::kStatic, JobState::kFinished, JobState::kCancelled}) {
    EXPECT_EQ(*ParseJobState(JobStateName(s)), s);
  }
}

TEST(JobTableTest, LaterDuplicateSpecWins) {
  JobTable table(
      {{.job_id = "a", .state = JobState::kStatic, .iot_instance_id = "", .firmware_id = ""},
       {.job_id = "a", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""}},
      {});
  EXPECT_THAT(
      table.Snapshot(),
      ElementsAre(JobSpec{
          .job_id = "a", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = ""}));
}

TEST(JobTableTest, ListsAFirmwaresJobsInPagesOrderedById) {
  testing::FakeClock clock(absl::FromUnixSeconds(1700000000));
  JobTable table(
      {{.job_id = "b", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = "fw"},
       {.job_id = "a", .state = JobState::kStatic, .iot_instance_id = "", .firmware_id = "fw"},
       {.job_id = "c", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = "fw"},
       {.job_id = "x", .state = JobState::kDynamic, .iot_instance_id = "", .firmware_id = "other"},
       {.job_id = "i",
        .state = JobState::kDynamic,
        .iot_instance_id = "iot-1",
        .firmware_id = "fw"}},
      {}, clock);
  absl::StatusOr<JobPage> page = table.ListByFirmware("fw", "", 1, 2);
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->jobs.size(), 2u);
  EXPECT_EQ(page->jobs[0].spec.job_id, "a");
  EXPECT_EQ(page->jobs[1].spec.job_id, "b");
  EXPECT_EQ(page->jobs[0].created, absl::FromUnixSeconds(1700000000));

  clock.Advance(absl::Seconds(5));
  ASSERT_EQ(table.CancelStrategy("c", ""), CancelResult::kCancelled);
  page = table.ListByFirmware("fw", "", 2, 2);
  ASSERT_THAT(page, IsOk());
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].spec.state, JobState::kCancelled);
  EXPECT_EQ(page->jobs[0].created, absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(page->jobs[0].modified, absl::FromUnixSeconds(1700000005));

  EXPECT_TRUE(table.ListByFirmware("fw", "", 3, 2)->jobs.empty());
  EXPECT_EQ(table.ListByFirmware("nope", "", 1, 200)->total, 0);
  EXPECT_EQ(table.ListByFirmware("fw", "iot-1", 1, 200)->total, 1);
  EXPECT_THAT(table.ListByFirmware("fw", "iot-404", 1, 200), Not(IsOk()));
  // Hostile paging does not overflow.
  EXPECT_TRUE(table.ListByFirmware("fw", "", 2147483647, 200)->jobs.empty());
}

}  // namespace
}  // namespace ota
