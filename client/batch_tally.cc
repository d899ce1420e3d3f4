#include "client/batch_tally.h"

#include <algorithm>
#include <array>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace ota::client {

void BatchTally::Add(const JobResult& result) {
  std::lock_guard<std::mutex> lock(mu_);
  ++snapshot_.done;
  if (result.ok()) ++snapshot_.ok;
  ++snapshot_.by_outcome[result.ok() ? result.outcome : result.code];
  ++snapshot_.by_code[{result.code, result.ok() ? result.outcome : result.reason}];
}

void BatchTally::AddSkipped(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  ++snapshot_.skipped[why];
}

void BatchTally::AddSettledEarlier(const std::string& code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++snapshot_.settled_earlier[code];
}

TallySnapshot BatchTally::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

std::string RenderSummaryTable(const TallySnapshot& tally) {
  std::vector<std::array<std::string, 3>> rows;
  rows.push_back({"CODE", "OUTCOME / REASON", "BATCHES"});
  for (const auto& [key, count] : tally.by_code) {
    rows.push_back({key.first, key.second.empty() ? "-" : key.second, absl::StrCat(count)});
  }
  if (const int not_sent = tally.total - tally.done; not_sent > 0) {
    rows.push_back({"not sent", "not started (interrupted)", absl::StrCat(not_sent)});
  }
  int skipped = 0;
  for (const auto& [why, count] : tally.skipped) {
    rows.push_back({"skipped", why, absl::StrCat(count)});
    skipped += count;
  }
  int earlier = 0;
  for (const auto& [code, count] : tally.settled_earlier) {
    rows.push_back({code, "settled by an earlier run", absl::StrCat(count)});
    earlier += count;
  }
  rows.push_back({"total", "", absl::StrCat(tally.total + skipped + earlier)});
  std::size_t code_width = 0;
  std::size_t outcome_width = 0;
  for (const auto& row : rows) {
    code_width = std::max(code_width, row[0].size());
    outcome_width = std::max(outcome_width, row[1].size());
  }
  std::string table;
  for (const auto& row : rows) {
    absl::StrAppend(&table,
                    absl::StrFormat("  %-*s  %-*s  %7s\n", static_cast<int>(code_width), row[0],
                                    static_cast<int>(outcome_width), row[1], row[2]));
  }
  return table;
}

int ExitCodeForBatch(const TallySnapshot& tally, bool interrupted) {
  if (interrupted) return kBatchExitInterrupted;
  for (const auto& [code, count] : tally.settled_earlier) {
    if (code != "OK") return kBatchExitSomeFailed;
  }
  return tally.ok == tally.done && tally.done == tally.total ? kBatchExitOk : kBatchExitSomeFailed;
}

}  // namespace ota::client
