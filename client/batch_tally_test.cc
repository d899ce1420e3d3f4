#include "client/batch_tally.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace ota::client {
namespace {

using ::testing::HasSubstr;

JobResult Result(std::string code, std::string outcome, std::string reason = {}) {
  JobResult result;
  result.job = {.job_id = "J", .iot_instance_id = ""};
  result.code = std::move(code);
  result.outcome = std::move(outcome);
  result.reason = std::move(reason);
  return result;
}

TEST(BatchTallyTest, CountsByOutcomeAndByCode) {
  BatchTally tally(5);
  tally.Add(Result("OK", "cancelled"));
  tally.Add(Result("OK", "cancelled"));
  tally.Add(Result("OK", "already_cancelled"));
  tally.Add(Result("NOT_FOUND", "", "JOB_NOT_FOUND"));
  tally.AddSkipped("static batch");
  const TallySnapshot snapshot = tally.Snapshot();
  EXPECT_EQ(snapshot.done, 4);
  EXPECT_EQ(snapshot.ok, 3);
  EXPECT_EQ(snapshot.by_outcome.at("cancelled"), 2);
  EXPECT_EQ(snapshot.by_outcome.at("already_cancelled"), 1);
  EXPECT_EQ(snapshot.by_outcome.at("NOT_FOUND"), 1);
  EXPECT_EQ((snapshot.by_code.at({"NOT_FOUND", "JOB_NOT_FOUND"})), 1);
  EXPECT_EQ(snapshot.skipped.at("static batch"), 1);
}

TEST(RenderSummaryTableTest, OneAlignedRowPerCodeAndOutcomeWithNotSentAndTotal) {
  BatchTally tally(4);
  tally.Add(Result("OK", "cancelled"));
  tally.Add(Result("FAILED_PRECONDITION", "", "JOB_NOT_DYNAMIC"));
  tally.AddSkipped("finished (COMPLETED)");
  EXPECT_EQ(RenderSummaryTable(tally.Snapshot()),
            "  CODE                 OUTCOME / REASON           BATCHES\n"
            "  FAILED_PRECONDITION  JOB_NOT_DYNAMIC                  1\n"
            "  OK                   cancelled                        1\n"
            "  not sent             not started (interrupted)        2\n"
            "  skipped              finished (COMPLETED)             1\n"
            "  total                                                 5\n");
}

TEST(ExitCodeForBatchTest, ZeroOnlyWhenEveryBatchEndedOk) {
  BatchTally all_ok(2);
  all_ok.Add(Result("OK", "cancelled"));
  all_ok.Add(Result("OK", "already_cancelled"));
  EXPECT_EQ(ExitCodeForBatch(all_ok.Snapshot(), false), 0);
  EXPECT_EQ(ExitCodeForBatch(all_ok.Snapshot(), true), 130);

  BatchTally one_failed(2);
  one_failed.Add(Result("OK", "cancelled"));
  one_failed.Add(Result("UNAVAILABLE", "", "OUTCOME_UNKNOWN"));
  EXPECT_EQ(ExitCodeForBatch(one_failed.Snapshot(), false), 1);

  EXPECT_EQ(ExitCodeForBatch(BatchTally(0).Snapshot(), false), 0);

  // --resume: what the earlier run settled counts too.
  BatchTally resumed(1);
  resumed.Add(Result("OK", "cancelled"));
  resumed.AddSettledEarlier("OK");
  EXPECT_EQ(ExitCodeForBatch(resumed.Snapshot(), false), 0);
  resumed.AddSettledEarlier("NOT_FOUND");
  EXPECT_EQ(ExitCodeForBatch(resumed.Snapshot(), false), 1);
  EXPECT_THAT(RenderSummaryTable(resumed.Snapshot()),
              HasSubstr("  NOT_FOUND  settled by an earlier run        1\n"));
}

}  // namespace
}  // namespace ota::client
