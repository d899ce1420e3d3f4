// Reads the job list of `ota-cancel batch --jobs FILE`: which update batches to cancel.
//
// One `JOB_ID` or `JOB_ID,IOT_INSTANCE_ID` per line; `#` starts a comment, blank lines are skipped,
// a repeated batch is skipped with a warning. Any invalid line fails the whole list, naming the
// line, so that nothing is sent for a file the operator got wrong.
//
//   absl::StatusOr<ota::client::JobList> list = ota::client::ParseJobList(text);
//   if (!list.ok()) return Usage(list.status().message());  // "line 7: ..."
//   for (const std::string& warning : list->warnings) std::cerr << warning << "\n";
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace ota::client {

// One update batch to cancel.
struct BatchJob {
  std::string job_id{};
  std::string iot_instance_id{};  // empty: the old public instance

  friend bool operator==(const BatchJob&, const BatchJob&) = default;
  friend bool operator<(const BatchJob& a, const BatchJob& b) {
    return a.job_id != b.job_id ? a.job_id < b.job_id : a.iot_instance_id < b.iot_instance_id;
  }
};

struct JobList {
  std::vector<BatchJob> jobs{};         // in file order, each once
  std::vector<std::string> warnings{};  // "line 9: JOB-1 repeats line 3; skipped"
};

// The rule the gateway applies to job and instance IDs (1 to 64 of A-Z a-z 0-9 _ -), checked here
// so a typo stops the run before anything is sent.
[[nodiscard]] bool IsValidBatchId(std::string_view id);

// INVALID_ARGUMENT "line N: <what is wrong>" for the first invalid line.
[[nodiscard]] absl::StatusOr<JobList> ParseJobList(std::string_view text);

}  // namespace ota::client
