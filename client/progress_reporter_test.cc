#include "client/progress_reporter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "absl/strings/str_split.h"
#include "server/testing/fake_clock.h"

namespace ota::client {
namespace {

using ::ota::testing::FakeClock;
using ::testing::ElementsAre;

TallySnapshot Snapshot(int done, int total) {
  TallySnapshot tally;
  tally.total = total;
  tally.done = done;
  if (done > 0) tally.by_outcome["cancelled"] = done;
  return tally;
}

TEST(FormatProgressLineTest, DoneTotalPercentRateEtaAndCounts) {
  TallySnapshot tally = Snapshot(15, 250);
  tally.by_outcome["NOT_FOUND"] = 2;
  tally.done = 17;
  EXPECT_EQ(FormatProgressLine(tally, absl::Seconds(2)),
            "17/250   6.8%  8.5/s  ETA 28s  NOT_FOUND 2  cancelled 15");
}

TEST(FormatProgressLineTest, NoRateBeforeTheFirstResult) {
  EXPECT_EQ(FormatProgressLine(Snapshot(0, 60), absl::Seconds(1)), "0/60   0.0%  --/s  ETA --");
}

TEST(FormatProgressLineTest, LongEtasInMinutesAndHours) {
  EXPECT_EQ(FormatProgressLine(Snapshot(10, 3010), absl::Seconds(10)),
            "10/3010   0.3%  1.0/s  ETA 50m00s  cancelled 10");
  EXPECT_EQ(FormatProgressLine(Snapshot(1, 7202), absl::Seconds(1)),
            "1/7202   0.0%  1.0/s  ETA 2h00m  cancelled 1");
  EXPECT_EQ(FormatProgressLine(Snapshot(0, 0), absl::Seconds(1)), "0/0 100.0%  --/s  ETA --");
}

TEST(ProgressReporterTest, LiveLineIsRedrawnInPlaceSeveralTimesASecond) {
  FakeClock clock(absl::FromUnixSeconds(1796600000));
  int done = 0;
  std::ostringstream out;
  ProgressReporter progress(out, /*live=*/true, clock, [&] { return Snapshot(done, 10); });
  progress.Tick();  // first tick draws
  clock.Advance(absl::Milliseconds(100));
  done = 1;
  progress.Tick();  // too soon
  clock.Advance(absl::Milliseconds(100));
  progress.Tick();
  clock.Advance(absl::Milliseconds(200));
  done = 4;
  progress.Tick();
  progress.Finish();
  EXPECT_EQ(out.str(),
            "\r\033[K0/10   0.0%  --/s  ETA --"
            "\r\033[K1/10  10.0%  5.0/s  ETA 2s  cancelled 1"
            "\r\033[K4/10  40.0%  10.0/s  ETA 1s  cancelled 4"
            "\r\033[K4/10  40.0%  10.0/s  ETA 1s  cancelled 4\n");
}

TEST(ProgressReporterTest, WithoutATerminalAPlainLineEveryFewSeconds) {
  FakeClock clock(absl::FromUnixSeconds(1796600000));
  int done = 0;
  std::ostringstream out;
  ProgressReporter progress(out, /*live=*/false, clock, [&] { return Snapshot(done, 100); });
  for (int tick = 0; tick < 120; ++tick) {  // 12 s in 100 ms ticks
    progress.Tick();
    clock.Advance(absl::Milliseconds(100));
    done = tick / 2;
  }
  progress.Finish();
  const std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  EXPECT_THAT(lines, ElementsAre("progress: 0/100   0.0%  --/s  ETA --",
                                 "progress: 24/100  24.0%  4.8/s  ETA 16s  cancelled 24",
                                 "progress: 49/100  49.0%  4.9/s  ETA 11s  cancelled 49",
                                 "progress: 59/100  59.0%  4.9/s  ETA 9s  cancelled 59"));
  EXPECT_EQ(out.str().find('\r'), std::string::npos);
}

}  // namespace
}  // namespace ota::client
