// The results file of `ota-cancel batch --results FILE`: one JSON object per batch and line,
// written as each batch finishes, and read back by `--resume` to skip the batches already settled.
//
// The file is the incident's record (what was cancelled, with Alibaba's RequestId) and the state a
// run resumes from when the terminal dies, so every line is flushed as soon as it is written, and
// a line cut short by a crash is reported and ignored when reading.
//
//   absl::StatusOr<std::unique_ptr<ResultsLog>> log = ResultsLog::Open("results.jsonl", true);
//   (*log)->Write(result);  // {"job_id":"J1","iot_instance_id":null,"code":"OK",...}
//   ResumeState state = ReadResumeState(text);  // state.settled: skip these
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/job_list_reader.h"
#include "client/ota_client.h"

namespace ota::client {

// What happened to one batch of a run.
struct JobResult {
  BatchJob job{};
  // "OK" or the gRPC status code name of the last attempt ("NOT_FOUND", ...).
  std::string code{};
  // On OK: "cancelled" or "already_cancelled"; empty (null in JSON) otherwise.
  std::string outcome{};
  std::string reason{};        // ErrorInfo.reason, or INTERRUPTED (see InterruptedResult)
  std::string message{};       // the error message; empty on OK
  std::string alibaba_code{};  // ErrorInfo metadata, when Alibaba answered
  std::string request_id{};    // Alibaba's RequestId: of the success, or of the error
  int attempts = 0;
  absl::Duration elapsed{};  // from the first attempt's start to the last answer
  absl::Time finished_at{};

  [[nodiscard]] bool ok() const { return code == "OK"; }
};

// The reason of a batch whose call was still in flight when an interrupted run gave up on it.
inline constexpr std::string_view kInterruptedReason = "INTERRUPTED";

// The result of a batch from its last CancelByJob answer.
[[nodiscard]] JobResult ResultFromCall(const BatchJob& job, const CancelResult& call, int attempts,
                                       absl::Duration elapsed, absl::Time finished_at);

// A batch whose call was still in flight when the run stopped waiting for it: code CANCELLED,
// reason INTERRUPTED. Whether the cancel was applied is unknown; --resume sends it again (safe).
[[nodiscard]] JobResult InterruptedResult(const BatchJob& job, int attempts, absl::Duration elapsed,
                                          absl::Time finished_at);

// Codes that settle a batch for good: repeating the call would answer the same. --resume skips
// batches whose last line has one. Everything else (RESOURCE_EXHAUSTED, UNAVAILABLE, ...) is
// tried again.
[[nodiscard]] bool IsFinalCode(std::string_view code);

// {"job_id","iot_instance_id","code","outcome","reason","alibaba_code","request_id","attempts",
//  "elapsed_ms","finished_at","message"}; empty strings are null; finished_at is RFC 3339 UTC
// with milliseconds.
[[nodiscard]] nlohmann::json JobResultToJson(const JobResult& result);

struct ResumeState {
  // Batches whose last line has a final code, with that code.
  std::map<BatchJob, std::string> settled{};
  int lines = 0;                        // result lines read
  std::vector<std::string> warnings{};  // "results line 12 is not a result (cut short?); ignored"
};

// Reads a results file's text; the last line of a batch decides.
[[nodiscard]] ResumeState ReadResumeState(std::string_view text);

// Appends result lines to a file or stdout; safe to call from several threads.
class ResultsLog {
 public:
  // `path` "-" is stdout. `append` keeps existing lines (for --resume), starting on a new line if
  // the last one was cut short; otherwise the file must not exist yet, so a previous run's record
  // is never overwritten by accident.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ResultsLog>> Open(const std::string& path,
                                                                        bool append);
  // Writes to `out` (tests).
  explicit ResultsLog(std::ostream& out) : out_(&out) {}

  // Writes one line and flushes it. False when the write failed (disk full, closed pipe).
  bool Write(const JobResult& result);

 private:
  ResultsLog() = default;

  std::mutex mu_;
  std::unique_ptr<std::ofstream> file_ ABSL_GUARDED_BY(mu_);
  std::ostream* out_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace ota::client
