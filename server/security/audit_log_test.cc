#include "server/security/audit_log.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

using ::testing::HasSubstr;

AuditRecord Sample() {
  return {.time = absl::FromUnixMicros(1764093710123456),
          .rpc = "CancelByJob",
          .caller = "rollout",
          .identity = "mtls_san:spiffe://corp/rollout",
          .peer = "ipv4:10.0.0.7:51234",
          .job_id = "JOB-1",
          .firmware_id = "",
          .iot_instance_id = "iot-a",
          .code = absl::StatusCode::kFailedPrecondition,
          .reason = "JOB_NOT_DYNAMIC",
          .alibaba_code = "iot.ota.OtaJobTypeNotSupported",
          .alibaba_request_id = "4C9B-REQ",
          .attempts = 2,
          .x_request_id = "trace-77",
          .latency = absl::Microseconds(12500),
          .limiter_wait = absl::Microseconds(4250)};
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipEmpty());
  return lines;
}

TEST(FormatAuditLineTest, OneJsonLineWithEveryField) {
  const std::string line = FormatAuditLine(Sample());
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2025-11-25T18:01:50.123456Z");
  EXPECT_EQ(j["rpc"], "CancelByJob");
  EXPECT_EQ(j["caller"], "rollout");
  EXPECT_EQ(j["identity"], "mtls_san:spiffe://corp/rollout");
  EXPECT_EQ(j["peer"], "ipv4:10.0.0.7:51234");
  EXPECT_EQ(j["job_id"], "JOB-1");
  EXPECT_EQ(j["iot_instance_id"], "iot-a");
  EXPECT_EQ(j["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(j["reason"], "JOB_NOT_DYNAMIC");
  EXPECT_EQ(j["alibaba_code"], "iot.ota.OtaJobTypeNotSupported");
  EXPECT_EQ(j["alibaba_request_id"], "4C9B-REQ");
  EXPECT_EQ(j["attempts"], 2);
  EXPECT_EQ(j["x_request_id"], "trace-77");
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(j["limiter_wait_ms"].get<double>(), 4.25);
}

TEST(FormatAuditLineTest, CallerSuppliedTextIsBoundedAndStaysValidJson) {
  AuditRecord record = Sample();
  record.job_id = std::string(10000, 'J');
  record.x_request_id = "line\nbreak \xff\xfe invalid utf8";
  const std::string line = FormatAuditLine(record);
  EXPECT_LT(line.size(), 2000u);
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // the embedded newline is escaped
  const nlohmann::json j = nlohmann::json::parse(line);
  EXPECT_EQ(j["job_id"].get<std::string>().size(), 128u);
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/audit-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/audit.jsonl";
  }
  void TearDown() override {
    std::remove(path_.c_str());
    std::remove((path_ + ".1").c_str());
    rmdir(dir_.c_str());
  }
  std::string dir_;
  std::string path_;
};

TEST_F(AuditLogTest, AppendsToExistingContentWithPrivateMode) {
  std::ofstream(path_) << "{\"earlier\":true}\n";
  chmod(path_.c_str(), 0600);
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(path_);
  ASSERT_THAT(audit, IsOk());
  ASSERT_THAT((*audit)->Append(Sample()), IsOk());
  // Another writer appending in between (e.g. a second process): O_APPEND puts every line at the
  // end, never over one another.
  {
    std::ofstream other(path_, std::ios::app);
    other << "{\"other\":true}\n";
  }
  ASSERT_THAT((*audit)->Append(Sample()), IsOk());
  const std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "{\"earlier\":true}");
  EXPECT_THAT(lines[1], HasSubstr("\"job_id\":\"JOB-1\""));
  EXPECT_EQ(lines[2], "{\"other\":true}");
  EXPECT_THAT(lines[3], HasSubstr("\"job_id\":\"JOB-1\""));
}

TEST_F(AuditLogTest, NewFileIsCreatedReadableByOwnerOnly) {
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(path_);
  ASSERT_THAT(audit, IsOk());
  struct stat info = {};
  ASSERT_EQ(stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(AuditLogTest, ConcurrentAppendsNeverInterleave) {
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(path_);
  ASSERT_THAT(audit, IsOk());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        AuditRecord record = Sample();
        record.job_id = absl::StrCat("T", t, "-", i);
        EXPECT_THAT((*audit)->Append(record), IsOk());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string> lines = Lines(path_);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> jobs;
  for (const std::string& line : lines) {
    jobs.insert(nlohmann::json::parse(line)["job_id"].get<std::string>());
  }
  EXPECT_EQ(jobs.size(), lines.size());
  EXPECT_EQ((*audit)->write_failures(), 0);
}

TEST_F(AuditLogTest, ReopenFollowsARotatedPath) {
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(path_);
  ASSERT_THAT(audit, IsOk());
  ASSERT_THAT((*audit)->Append(Sample()), IsOk());
  ASSERT_EQ(std::rename(path_.c_str(), (path_ + ".1").c_str()), 0);
  ASSERT_THAT((*audit)->Append(Sample()), IsOk());  // still the moved file
  ASSERT_THAT((*audit)->Reopen(), IsOk());
  ASSERT_THAT((*audit)->Append(Sample()), IsOk());
  EXPECT_EQ(Lines(path_ + ".1").size(), 2u);
  EXPECT_EQ(Lines(path_).size(), 1u);
}

TEST_F(AuditLogTest, OpenFailsOnAnUnwritablePath) {
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open(dir_ + "/missing/audit.jsonl");
  ASSERT_THAT(audit, Not(IsOk()));
  EXPECT_THAT(audit.status().message(), HasSubstr("--audit-log"));
}

TEST(AuditLogFailureTest, WriteFailureIsCountedAndReported) {
  if (access("/dev/full", W_OK) != 0) GTEST_SKIP() << "needs /dev/full";
  absl::StatusOr<std::unique_ptr<AuditLog>> audit = AuditLog::Open("/dev/full");
  ASSERT_THAT(audit, IsOk());
  absl::Status first = (*audit)->Append(Sample());
  EXPECT_EQ(first.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(first.message(), HasSubstr("/dev/full"));
  EXPECT_THAT((*audit)->Append(Sample()), Not(IsOk()));
  EXPECT_EQ((*audit)->write_failures(), 2);
}

}  // namespace
}  // namespace ota
