#include "emulator/job_table.h"

#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ota {

absl::StatusOr<JobState> ParseJobState(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "dynamic") return JobState::kDynamic;
  if (lower == "static") return JobState::kStatic;
  if (lower == "finished") return JobState::kFinished;
  if (lower == "cancelled" || lower == "canceled") return JobState::kCancelled;
  return absl::InvalidArgumentError(
      absl::StrCat("job state must be dynamic, static, finished or cancelled, got \"", text, "\""));
}

absl::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kDynamic:
      return "dynamic";
    case JobState::kStatic:
      return "static";
    case JobState::kFinished:
      return "finished";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

JobView ViewOf(JobState state) {
  switch (state) {
    case JobState::kDynamic:
      return {"IN_PROGRESS", "DYNAMIC"};
    case JobState::kStatic:
      return {"IN_PROGRESS", "STATIC"};
    case JobState::kFinished:
      return {"COMPLETED", "DYNAMIC"};
    case JobState::kCancelled:
      return {"CANCELED", "DYNAMIC"};
  }
  return {"IN_PROGRESS", "DYNAMIC"};
}

JobTable::JobTable(std::vector<JobSpec> initial_jobs, std::vector<std::string> known_instances,
                   const Clock& clock)
    : initial_jobs_(std::move(initial_jobs)),
      initial_instances_(std::move(known_instances)),
      clock_(clock) {
  std::lock_guard<std::mutex> lock(mu_);
  LoadInitialLocked();
}

void JobTable::LoadInitialLocked() {
  jobs_.clear();
  instances_.clear();
  instances_.insert(initial_instances_.begin(), initial_instances_.end());
  const absl::Time now = clock_.Now();
  for (const JobSpec& job : initial_jobs_) {
    jobs_.insert_or_assign(job.job_id, ListedJob{.spec = job, .created = now, .modified = now});
    if (!job.iot_instance_id.empty()) instances_.insert(job.iot_instance_id);
  }
}

CancelResult JobTable::CancelStrategy(absl::string_view job_id, absl::string_view iot_instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  // Alibaba checks the instance before looking inside it, so a bad instance wins over a bad job.
  if (!iot_instance_id.empty() && !instances_.contains(iot_instance_id)) {
    return CancelResult::kInstanceNotFound;
  }
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.spec.iot_instance_id != iot_instance_id) {
    return CancelResult::kJobNotFound;
  }
  switch (it->second.spec.state) {
    case JobState::kDynamic:
      it->second.spec.state = JobState::kCancelled;
      it->second.modified = clock_.Now();
      return CancelResult::kCancelled;
    case JobState::kStatic:
      return CancelResult::kJobTypeNotSupported;
    case JobState::kFinished:
    case JobState::kCancelled:
      return CancelResult::kJobStatusNotSupported;
  }
  return CancelResult::kJobNotFound;
}

absl::StatusOr<JobState> JobTable::Query(absl::string_view job_id,
                                         absl::string_view iot_instance_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!iot_instance_id.empty() && !instances_.contains(iot_instance_id)) {
    return absl::FailedPreconditionError("instance not found");
  }
  auto it = jobs_.find(job_id);
  if (it == jobs_.end() || it->second.spec.iot_instance_id != iot_instance_id) {
    return absl::NotFoundError("job not found");
  }
  return it->second.spec.state;
}

absl::StatusOr<JobPage> JobTable::ListByFirmware(absl::string_view firmware_id,
                                                 absl::string_view iot_instance_id, int page,
                                                 int page_size) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!iot_instance_id.empty() && !instances_.contains(iot_instance_id)) {
    return absl::FailedPreconditionError("instance not found");
  }
  JobPage out;
  // 64-bit: page * page_size may exceed int for hostile paging parameters.
  const std::int64_t first = (static_cast<std::int64_t>(page) - 1) * page_size;
  const std::int64_t end = first + page_size;
  for (const auto& [id, job] : jobs_) {
    if (firmware_id.empty() || job.spec.firmware_id != firmware_id ||
        job.spec.iot_instance_id != iot_instance_id) {
      continue;
    }
    if (out.total >= first && out.total < end) out.jobs.push_back(job);
    ++out.total;
  }
  return out;
}

void JobTable::Upsert(const JobSpec& job) {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_.Now();
  jobs_.insert_or_assign(job.job_id, ListedJob{.spec = job, .created = now, .modified = now});
  if (!job.iot_instance_id.empty()) instances_.insert(job.iot_instance_id);
}

void JobTable::AddInstance(const std::string& iot_instance_id) {
  std::lock_guard<std::mutex> lock(mu_);
  instances_.insert(iot_instance_id);
}

void JobTable::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  LoadInitialLocked();
}

std::vector<JobSpec> JobTable::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<JobSpec> out;
  out.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) out.push_back(job.spec);
  return out;
}

}  // namespace ota
