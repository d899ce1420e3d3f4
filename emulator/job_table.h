// JobTable: the emulator's OTA update batches (jobs) and what CancelOTAStrategyByJob does to them.
//
// Each job has a state (dynamic, static, finished, cancelled), optionally the IoT instance it
// belongs to and the firmware it pushes; QueryOTAJob reads it (ViewOf) and ListOTAJobByFirmware
// pages through a firmware's jobs (ListByFirmware). Only a dynamic job can have its dynamic update
// policy cancelled; it then becomes cancelled, like Alibaba's JobStatus CANCELED. The table
// remembers its initial jobs so tests can put everything back with Reset(). Thread-safe.
//
//   ota::JobTable table({{.job_id = "demo-dynamic-0001", .state = ota::JobState::kDynamic}}, {});
//   ota::CancelResult r = table.CancelStrategy("demo-dynamic-0001", /*iot_instance_id=*/"");
//   // r == ota::CancelResult::kCancelled; a second call gives kJobStatusNotSupported.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/base/clock.h"

namespace ota {

enum class JobState { kDynamic, kStatic, kFinished, kCancelled };

// "dynamic" | "static" | "finished" | "cancelled" (case-insensitive).
[[nodiscard]] absl::StatusOr<JobState> ParseJobState(absl::string_view text);
[[nodiscard]] absl::string_view JobStateName(JobState state);

struct JobSpec {
  std::string job_id;
  JobState state = JobState::kDynamic;
  // Empty: the job is reachable only by calls that name no IotInstanceId (a public-instance job).
  std::string iot_instance_id;
  // The firmware the batch pushes (ListOTAJobByFirmware's FirmwareId); empty: listed under none.
  std::string firmware_id;

  friend bool operator==(const JobSpec&, const JobSpec&) = default;
};

// What QueryOTAJob reports of a job: Data.JobStatus and Data.SelectionType, as Alibaba spells them.
// dynamic -> IN_PROGRESS/DYNAMIC, static -> IN_PROGRESS/STATIC, finished -> COMPLETED/DYNAMIC,
// cancelled -> CANCELED/DYNAMIC (only a dynamic batch has a policy to cancel).
struct JobView {
  absl::string_view job_status;
  absl::string_view selection_type;
};
[[nodiscard]] JobView ViewOf(JobState state);

// A job as ListOTAJobByFirmware shows it: its spec and when the table created and last changed it.
struct ListedJob {
  JobSpec spec;
  absl::Time created;
  absl::Time modified;
};

// One page of a firmware's jobs, ordered by job id, and how many jobs the firmware has in all.
struct JobPage {
  std::vector<ListedJob> jobs;
  int total = 0;
};

// What a cancel call found; each failure maps to one business error code.
enum class CancelResult {
  kCancelled,              // the job was dynamic and is now cancelled
  kJobNotFound,            // no such job in the named instance
  kJobTypeNotSupported,    // a static job has no dynamic policy
  kJobStatusNotSupported,  // already finished or cancelled
  kInstanceNotFound,       // the IotInstanceId is not a known instance
};

class JobTable {
 public:
  // `known_instances` adds instance ids that exist without jobs; every instance named by a job is
  // known as well. A job id that appears twice keeps its last spec.
  // `clock` stamps each job's creation (load, Upsert) and modification (a cancel).
  JobTable(std::vector<JobSpec> initial_jobs, std::vector<std::string> known_instances,
           const Clock& clock = SystemClock::Get());

  [[nodiscard]] CancelResult CancelStrategy(absl::string_view job_id,
                                            absl::string_view iot_instance_id);

  // QueryOTAJob: the job's state, or INSTANCE_NOT_FOUND / NOT_FOUND like CancelStrategy's checks.
  [[nodiscard]] absl::StatusOr<JobState> Query(absl::string_view job_id,
                                               absl::string_view iot_instance_id) const;

  // ListOTAJobByFirmware: page `page` (from 1) of `page_size` jobs of `firmware_id` within
  // `iot_instance_id` (empty: the jobs in no instance), ordered by job id. A page past the end is
  // empty; an unknown firmware has no jobs. INSTANCE_NOT_FOUND (FAILED_PRECONDITION) like Query.
  // The caller checks page >= 1 and page_size >= 1.
  [[nodiscard]] absl::StatusOr<JobPage> ListByFirmware(absl::string_view firmware_id,
                                                       absl::string_view iot_instance_id, int page,
                                                       int page_size) const;

  // Adds a job or replaces one with the same id (runtime control); its instance becomes known.
  void Upsert(const JobSpec& job);
  // Makes an instance id known (runtime control).
  void AddInstance(const std::string& iot_instance_id);

  // Back to the jobs and instances given to the constructor.
  void Reset();

  // Current jobs ordered by id.
  [[nodiscard]] std::vector<JobSpec> Snapshot() const;

 private:
  void LoadInitialLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::vector<JobSpec> initial_jobs_;
  const std::vector<std::string> initial_instances_;
  const Clock& clock_;
  mutable std::mutex mu_;
  absl::btree_map<std::string, ListedJob> jobs_ ABSL_GUARDED_BY(mu_);
  absl::btree_set<std::string> instances_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ota
