#include "client/firmware_job_selection.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace ota::client {

absl::StatusOr<std::vector<ota::v1::OtaJob>> ListAllFirmwareJobs(
    const ListPageCall& list_page, const std::string& firmware_id,
    const std::string& iot_instance_id, absl::Duration timeout_per_page,
    const BatchRetryPolicy& retry, RetrySleeper& sleeper, const ota::Clock& clock) {
  ota::v1::ListJobsByFirmwareRequest request;
  request.set_firmware_id(firmware_id);
  request.set_iot_instance_id(iot_instance_id);
  request.set_page_size(kListPageSize);
  std::vector<ota::v1::OtaJob> jobs;
  std::set<std::string> tokens_seen;
  for (int page = 1; page <= kMaxListPages; ++page) {
    const absl::Time budget_end = clock.Now() + timeout_per_page;
    ListJobsResult result;
    for (int attempts = 1;; ++attempts) {
      result = list_page(request, budget_end - clock.Now());
      const RetryDecision next = retry.Decide(result.error, attempts, budget_end - clock.Now());
      if (!next.retry || !sleeper.SleepFor(next.delay)) break;
    }
    if (!result.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(result.error->code),
                          absl::StrCat("listing the batches of firmware ", firmware_id, " (page ",
                                       page, "): ", FormatCallError(*result.error)));
    }
    for (const ota::v1::OtaJob& job : result.response.jobs()) jobs.push_back(job);
    const std::string& token = result.response.next_page_token();
    if (token.empty()) return jobs;
    if (!tokens_seen.insert(token).second) {
      return absl::InternalError(absl::StrCat("listing the batches of firmware ", firmware_id,
                                              ": the gateway returned page token '", token,
                                              "' twice; its paging does not end"));
    }
    request.set_page_token(token);
  }
  return absl::InternalError(absl::StrCat("listing the batches of firmware ", firmware_id,
                                          ": more than ", kMaxListPages, " pages"));
}

std::string JobStatusText(ota::v1::JobStatus status) {
  switch (status) {
    case ota::v1::JOB_STATUS_PLANNED:
      return "PLANNED";
    case ota::v1::JOB_STATUS_IN_PROGRESS:
      return "IN_PROGRESS";
    case ota::v1::JOB_STATUS_COMPLETED:
      return "COMPLETED";
    case ota::v1::JOB_STATUS_CANCELED:
      return "CANCELED";
    default:
      return "UNKNOWN";
  }
}

FirmwareSelection SelectCancellable(const std::vector<ota::v1::OtaJob>& jobs) {
  FirmwareSelection selection;
  std::set<std::string> seen;
  for (const ota::v1::OtaJob& job : jobs) {
    // A batch that moved between pages while they were read can be listed twice.
    if (!seen.insert(job.job_id()).second) continue;
    const bool active = job.job_status() == ota::v1::JOB_STATUS_PLANNED ||
                        job.job_status() == ota::v1::JOB_STATUS_IN_PROGRESS;
    if (job.selection_type() != ota::v1::SELECTION_TYPE_DYNAMIC) {
      selection.skipped.push_back({.job = job,
                                   .why = job.selection_type() == ota::v1::SELECTION_TYPE_STATIC
                                              ? "static batch (no dynamic policy)"
                                              : "selection type unknown"});
    } else if (!active) {
      selection.skipped.push_back(
          {.job = job, .why = absl::StrCat("not active (", JobStatusText(job.job_status()), ")")});
    } else {
      selection.to_cancel.push_back(job);
    }
  }
  return selection;
}

}  // namespace ota::client
