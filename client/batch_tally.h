// BatchTally: the running count of a batch cancel's results, by code and outcome, read by the
// progress line while the run goes on and printed as the summary table at its end; it also
// decides the exit code.
//
//   BatchTally tally(jobs.size());
//   tally.Add(result);                          // from the runner's result sink
//   std::cerr << RenderSummaryTable(tally.Snapshot());
//   return ExitCodeForBatch(tally.Snapshot(), report.interrupted);
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "client/results_log.h"

namespace ota::client {

// Exit codes of `ota-cancel batch` (client/README.md).
inline constexpr int kBatchExitOk = 0;             // every batch ended OK
inline constexpr int kBatchExitSomeFailed = 1;     // some batch ended with an error
inline constexpr int kBatchExitUsage = 2;          // usage or input error; nothing was sent
inline constexpr int kBatchExitInterrupted = 130;  // Ctrl-C (128 + SIGINT)

struct TallySnapshot {
  int total = 0;  // batches this run was to cancel
  int done = 0;   // with a result
  int ok = 0;
  // Progress counts: "cancelled", "already_cancelled", or the code of an error ("NOT_FOUND").
  std::map<std::string, int> by_outcome{};
  // Summary rows: (code, outcome on OK / reason otherwise) -> count.
  std::map<std::pair<std::string, std::string>, int> by_code{};
  // Batches listed but not sent (--firmware-id): why -> count.
  std::map<std::string, int> skipped{};
  // Batches --resume did not send because an earlier run settled them: final code -> count.
  std::map<std::string, int> settled_earlier{};
};

class BatchTally {
 public:
  explicit BatchTally(int total) { snapshot_.total = total; }

  void Add(const JobResult& result);
  void AddSkipped(const std::string& why);
  // A batch settled by an earlier run (--resume) with this final code; not part of `total`.
  void AddSettledEarlier(const std::string& code);
  [[nodiscard]] TallySnapshot Snapshot() const;

 private:
  mutable std::mutex mu_;
  TallySnapshot snapshot_ ABSL_GUARDED_BY(mu_);
};

// The table printed at the end:
//   CODE                 OUTCOME / REASON      BATCHES
//   OK                   cancelled                  30
//   NOT_FOUND            JOB_NOT_FOUND               4
//   not sent             not started (interrupted)   25
//   skipped              static batch                 1
//   OK                   settled by an earlier run    5
//   total                                            66
[[nodiscard]] std::string RenderSummaryTable(const TallySnapshot& tally);

// 130 when interrupted; otherwise 0 when every batch ended OK (in this run, or in the earlier run
// --resume continues), else 1.
[[nodiscard]] int ExitCodeForBatch(const TallySnapshot& tally, bool interrupted);

}  // namespace ota::client
