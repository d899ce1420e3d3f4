#include "client/results_log.h"

#include <filesystem>
#include <iostream>
#include <map>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace ota::client {
namespace {

nlohmann::json StringOrNull(const std::string& value) {
  return value.empty() ? nlohmann::json(nullptr) : nlohmann::json(value);
}

std::string StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

JobResult ResultFromCall(const BatchJob& job, const CancelResult& call, int attempts,
                         absl::Duration elapsed, absl::Time finished_at) {
  JobResult result{.job = job,
                   .code = "OK",
                   .outcome = {},
                   .reason = {},
                   .message = {},
                   .alibaba_code = {},
                   .request_id = {},
                   .attempts = attempts,
                   .elapsed = elapsed,
                   .finished_at = finished_at};
  if (call.ok()) {
    result.outcome = call.outcome == ota::v1::CANCEL_OUTCOME_ALREADY_CANCELLED ? "already_cancelled"
                                                                               : "cancelled";
    result.request_id = call.request_id;
    return result;
  }
  const CallError& error = *call.error;
  result.code = StatusCodeName(error.code);
  result.reason = error.reason;
  result.message = error.message;
  result.alibaba_code = error.alibaba_code;
  result.request_id = error.alibaba_request_id;
  return result;
}

JobResult InterruptedResult(const BatchJob& job, int attempts, absl::Duration elapsed,
                            absl::Time finished_at) {
  return {.job = job,
          .code = StatusCodeName(grpc::StatusCode::CANCELLED),
          .outcome = {},
          .reason = std::string(kInterruptedReason),
          .message =
              "interrupted while the call was in flight: the cancel may or may not have "
              "been applied; --resume sends it again",
          .alibaba_code = {},
          .request_id = {},
          .attempts = attempts,
          .elapsed = elapsed,
          .finished_at = finished_at};
}

bool IsFinalCode(std::string_view code) {
  return code == "OK" || code == "NOT_FOUND" || code == "FAILED_PRECONDITION" ||
         code == "INVALID_ARGUMENT" || code == "PERMISSION_DENIED";
}

nlohmann::json JobResultToJson(const JobResult& result) {
  return {
      {"job_id", result.job.job_id},
      {"iot_instance_id", StringOrNull(result.job.iot_instance_id)},
      {"code", result.code},
      {"outcome", StringOrNull(result.outcome)},
      {"reason", StringOrNull(result.reason)},
      {"alibaba_code", StringOrNull(result.alibaba_code)},
      {"request_id", StringOrNull(result.request_id)},
      {"attempts", result.attempts},
      {"elapsed_ms", absl::ToInt64Milliseconds(result.elapsed)},
      {"finished_at",
       absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", result.finished_at, absl::UTCTimeZone())},
      {"message", StringOrNull(result.message)},
  };
}

ResumeState ReadResumeState(std::string_view text) {
  ResumeState state;
  std::map<BatchJob, std::string> last_code;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    ++line_number;
    if (line.empty()) continue;
    const nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string job_id = object.is_object() ? StringField(object, "job_id") : std::string();
    const std::string code = object.is_object() ? StringField(object, "code") : std::string();
    if (job_id.empty() || code.empty()) {
      state.warnings.push_back(
          absl::StrCat("results line ", line_number, " is not a result (cut short?); ignored"));
      continue;
    }
    ++state.lines;
    last_code[BatchJob{.job_id = job_id,
                       .iot_instance_id = StringField(object, "iot_instance_id")}] = code;
  }
  for (const auto& [job, code] : last_code) {
    if (IsFinalCode(code)) state.settled.emplace(job, code);
  }
  return state;
}

absl::StatusOr<std::unique_ptr<ResultsLog>> ResultsLog::Open(const std::string& path, bool append) {
  if (path == "-") return std::make_unique<ResultsLog>(std::cout);
  std::error_code error;
  const bool exists = std::filesystem::exists(path, error);
  if (exists && !append) {
    return absl::AlreadyExistsError(
        absl::StrCat("results file '", path,
                     "' exists: pass --resume to continue that run, or name a new file"));
  }
  bool needs_newline = false;
  if (exists) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (in && in.tellg() > 0) {
      in.seekg(-1, std::ios::end);
      needs_newline = in.get() != '\n';
    }
  }
  auto file = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::app);
  if (!*file) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open results file '", path, "' for writing"));
  }
  if (needs_newline) *file << '\n' << std::flush;
  std::unique_ptr<ResultsLog> log(new ResultsLog());
  std::lock_guard<std::mutex> lock(log->mu_);
  log->out_ = file.get();
  log->file_ = std::move(file);
  return log;
}

bool ResultsLog::Write(const JobResult& result) {
  const std::string line = JobResultToJson(result).dump() + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  *out_ << line << std::flush;
  return static_cast<bool>(*out_);
}

}  // namespace ota::client
