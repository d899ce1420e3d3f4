#include "emulator/emulator_options.h"

#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "emulator/job_table.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

ABSL_DECLARE_FLAG(std::vector<std::string>, job);
ABSL_DECLARE_FLAG(bool, fault_reset);
ABSL_DECLARE_FLAG(bool, fault_after_apply);
ABSL_DECLARE_FLAG(std::string, fault_action);

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(EmulatorOptionsTest, ParsesListenAddresses) {
  absl::StatusOr<ListenAddress> v4 = ParseListenAddress("127.0.0.1:18080");
  ASSERT_THAT(v4, IsOk());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 18080);
  absl::StatusOr<ListenAddress> v6 = ParseListenAddress("[::1]:0");
  ASSERT_THAT(v6, IsOk());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"18080", ":18080", "host:", "host:70000", "host:http"}) {
    EXPECT_THAT(ParseListenAddress(bad), Not(IsOk())) << bad;
  }
}

TEST(EmulatorOptionsTest, ParsesAccessKeysWithOptionalAccountAndToken) {
  absl::StatusOr<AccessKey> plain = ParseAccessKeySpec("ID1:SEC1");
  ASSERT_THAT(plain, IsOk());
  EXPECT_EQ(plain->id, "ID1");
  EXPECT_EQ(plain->secret, "SEC1");
  EXPECT_EQ(plain->account, "ID1");  // its own account
  EXPECT_EQ(plain->security_token, "");

  absl::StatusOr<AccessKey> full = ParseAccessKeySpec("ID2:SEC2:acct:tok");
  ASSERT_THAT(full, IsOk());
  EXPECT_EQ(full->account, "acct");
  EXPECT_EQ(full->security_token, "tok");

  for (const char* bad : {"ONLYID", "ID:", ":SECRET", "a:b:c:d:e"}) {
    absl::StatusOr<AccessKey> key = ParseAccessKeySpec(bad);
    EXPECT_THAT(key, Not(IsOk())) << bad;
  }
  absl::StatusOr<AccessKey> secret_only = ParseAccessKeySpec("mysecretvalue");
  EXPECT_THAT(std::string(secret_only.status().message()), Not(HasSubstr("mysecretvalue")));
}

TEST(EmulatorOptionsTest, ParsesJobSpecs) {
  absl::StatusOr<JobSpec> job = ParseJobSpec("JOB-1=dynamic");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(*job, (JobSpec{.job_id = "JOB-1",
                           .state = JobState::kDynamic,
                           .iot_instance_id = "",
                           .firmware_id = ""}));
  job = ParseJobSpec("J=static@iot-instc-1");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(*job, (JobSpec{.job_id = "J",
                           .state = JobState::kStatic,
                           .iot_instance_id = "iot-instc-1",
                           .firmware_id = ""}));
  job = ParseJobSpec("J=dynamic#fw-1");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(*job, (JobSpec{.job_id = "J",
                           .state = JobState::kDynamic,
                           .iot_instance_id = "",
                           .firmware_id = "fw-1"}));
  job = ParseJobSpec("J=finished@iot-1#fw-2");
  ASSERT_THAT(job, IsOk());
  EXPECT_EQ(*job, (JobSpec{.job_id = "J",
                           .state = JobState::kFinished,
                           .iot_instance_id = "iot-1",
                           .firmware_id = "fw-2"}));
  for (const char* bad : {"J", "=dynamic", "J=", "J=paused", "J=dynamic#", "J=#fw"}) {
    EXPECT_THAT(ParseJobSpec(bad), Not(IsOk())) << bad;
  }
}

TEST(EmulatorOptionsTest, ParsesJobsFiles) {
  absl::StatusOr<JobsFile> file = ParseJobsFile(R"({
    "jobs": [{"job_id": "a", "state": "dynamic"},
             {"job_id": "b", "state": "finished", "iot_instance_id": "i1",
              "firmware_id": "fw-1"}],
    "iot_instances": ["i2"]})");
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(file->jobs, ElementsAre(JobSpec{.job_id = "a",
                                              .state = JobState::kDynamic,
                                              .iot_instance_id = "",
                                              .firmware_id = ""},
                                      JobSpec{.job_id = "b",
                                              .state = JobState::kFinished,
                                              .iot_instance_id = "i1",
                                              .firmware_id = "fw-1"}));
  EXPECT_THAT(file->iot_instances, ElementsAre("i2"));
  for (const char* bad :
       {"[]", R"({"jobs": {}})", R"({"jobs": [{"state": "dynamic"}]})",
        R"({"jobs": [{"job_id": "x", "state": "odd"}]})", R"({"iot_instances": [1]})", "{"}) {
    EXPECT_THAT(ParseJobsFile(bad), Not(IsOk())) << bad;
  }
}

std::vector<std::string> Join(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::vector<std::string> storage;
  std::vector<char*> out =
      JoinRepeatedFlags(static_cast<int>(argv.size()), argv.data(), {"job", "access_key"}, storage);
  return {out.begin(), out.end()};
}

TEST(EmulatorOptionsTest, JoinsRepeatedFlagsInOrder) {
  EXPECT_THAT(Join({"iot-emulator", "--job=a=dynamic", "--qps=3", "--job", "b=static",
                    "-job=c=finished", "--access_key=K:S"}),
              ElementsAre("iot-emulator", "--job=a=dynamic,b=static,c=finished", "--qps=3",
                          "--access_key=K:S"));
}

TEST(EmulatorOptionsTest, JoinLeavesOtherArgumentsAlone) {
  EXPECT_THAT(Join({"iot-emulator", "--jobs_file=f.json", "--", "--job=x"}),
              ElementsAre("iot-emulator", "--jobs_file=f.json", "--", "--job=x"));
}

TEST(EmulatorOptionsTest, DemoJobsLastASession) {
  const std::vector<JobSpec> jobs = DefaultDemoJobs();
  ASSERT_EQ(jobs.size(), 22u);
  for (int n = 1; n <= 20; ++n) {
    const std::string id =
        n < 10 ? absl::StrCat("demo-dynamic-000", n) : absl::StrCat("demo-dynamic-00", n);
    EXPECT_EQ(jobs[n - 1], (JobSpec{.job_id = id,
                                    .state = JobState::kDynamic,
                                    .iot_instance_id = "",
                                    .firmware_id = "demo-firmware-0001"}));
  }
  EXPECT_EQ(jobs[20], (JobSpec{.job_id = "demo-static-0001",
                               .state = JobState::kStatic,
                               .iot_instance_id = "",
                               .firmware_id = "demo-firmware-0001"}));
  EXPECT_EQ(jobs[21], (JobSpec{.job_id = "demo-finished-0001",
                               .state = JobState::kFinished,
                               .iot_instance_id = "",
                               .firmware_id = "demo-firmware-0001"}));
  EXPECT_EQ(DemoAccessKey().id, "EMULATORDEMOKEYID0001");
}

TEST(EmulatorOptionsTest, JobFlagsAddToTheDemoJobsAndWinOnTheSameId) {
  absl::SetFlag(&FLAGS_job, {"JOB-1=static@iot-1", "demo-dynamic-0002=finished"});
  absl::StatusOr<EmulatorOptions> options = EmulatorOptionsFromFlags();
  absl::SetFlag(&FLAGS_job, {});
  ASSERT_THAT(options, IsOk());
  JobTable jobs(options->jobs, options->iot_instances);
  EXPECT_EQ(jobs.Snapshot().size(), 23u);  // 22 demo jobs + JOB-1, demo-dynamic-0002 replaced
  EXPECT_EQ(jobs.CancelStrategy("demo-dynamic-0001", ""), CancelResult::kCancelled);
  EXPECT_EQ(jobs.CancelStrategy("demo-dynamic-0020", ""), CancelResult::kCancelled);
  EXPECT_EQ(jobs.CancelStrategy("demo-dynamic-0002", ""), CancelResult::kJobStatusNotSupported);
  EXPECT_EQ(jobs.CancelStrategy("JOB-1", "iot-1"), CancelResult::kJobTypeNotSupported);
}

TEST(EmulatorOptionsTest, FaultFlagsCanApplyTheCancelFirstAndPickAnAction) {
  absl::SetFlag(&FLAGS_fault_reset, true);
  absl::SetFlag(&FLAGS_fault_after_apply, true);
  absl::SetFlag(&FLAGS_fault_action, std::string("CancelOTAStrategyByJob"));
  absl::StatusOr<EmulatorOptions> options = EmulatorOptionsFromFlags();
  absl::SetFlag(&FLAGS_fault_action, std::string("NoSuchAction"));
  absl::StatusOr<EmulatorOptions> bad = EmulatorOptionsFromFlags();
  absl::SetFlag(&FLAGS_fault_reset, false);
  absl::SetFlag(&FLAGS_fault_after_apply, false);
  absl::SetFlag(&FLAGS_fault_action, std::string());
  ASSERT_THAT(options, IsOk());
  EXPECT_TRUE(options->faults.reset);
  EXPECT_TRUE(options->faults.after_apply);
  EXPECT_EQ(options->faults.action, "CancelOTAStrategyByJob");
  EXPECT_THAT(bad, Not(IsOk()));
}

}  // namespace
}  // namespace ota
