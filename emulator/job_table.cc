#include "emulator/job_table.h"

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

JobTable::JobTable(std::vector<JobSpec> initial_jobs, std::vector<std::string> known_instances)
    : initial_jobs_(std::move(initial_jobs)), initial_instances_(std::move(known_instances)) {
  std::lock_guard<std::mutex> lock(mu_);
  LoadInitialLocked();
}

void JobTable::LoadInitialLocked() {
  jobs_.clear();
  instances_.clear();
  instances_.insert(initial_instances_.begin(), initial_instances_.end());
  for (const JobSpec& job : initial_jobs_) {
    jobs_.insert_or_assign(job.job_id, job);
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
  if (it == jobs_.end() || it->second.iot_instance_id != iot_instance_id) {
    return CancelResult::kJobNotFound;
  }
  switch (it->second.state) {
    case JobState::kDynamic:
      it->second.state = JobState::kCancelled;
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
  if (it == jobs_.end() || it->second.iot_instance_id != iot_instance_id) {
    return absl::NotFoundError("job not found");
  }
  return it->second.state;
}

void JobTable::Upsert(const JobSpec& job) {
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.insert_or_assign(job.job_id, job);
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
  for (const auto& [id, job] : jobs_) out.push_back(job);
  return out;
}

}  // namespace ota
