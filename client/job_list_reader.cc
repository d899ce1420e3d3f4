#include "client/job_list_reader.h"

#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/base/content_lines.h"

namespace ota::client {

bool IsValidBatchId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

absl::StatusOr<JobList> ParseJobList(std::string_view text) {
  JobList list;
  std::map<BatchJob, int> first_line;  // where each batch was first listed
  for (const ContentLine& content : ContentLines(absl::string_view(text.data(), text.size()))) {
    const int line_number = content.number;
    const absl::string_view line = content.text;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (fields.size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", line_number, ": expected JOB_ID or JOB_ID,IOT_INSTANCE_ID, got '", line, "'"));
    }
    BatchJob job{.job_id = std::string(absl::StripAsciiWhitespace(fields[0])),
                 .iot_instance_id = fields.size() == 2
                                        ? std::string(absl::StripAsciiWhitespace(fields[1]))
                                        : std::string()};
    if (!IsValidBatchId(job.job_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": job id '", job.job_id,
                       "' is not 1 to 64 characters from A-Z a-z 0-9 _ -"));
    }
    if (fields.size() == 2 && !IsValidBatchId(job.iot_instance_id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": IoT instance id '", job.iot_instance_id,
                       "' is not 1 to 64 characters from A-Z a-z 0-9 _ -"));
    }
    const auto [it, inserted] = first_line.emplace(job, line_number);
    if (!inserted) {
      list.warnings.push_back(absl::StrCat("line ", line_number, ": ", job.job_id, " repeats line ",
                                           it->second, "; skipped"));
      continue;
    }
    list.jobs.push_back(std::move(job));
  }
  return list;
}

}  // namespace ota::client
