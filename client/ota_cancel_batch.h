// `ota-cancel batch`: cancels many update batches at the gateway's quota, from a job list or from
// a firmware's batches, with progress, a results file, resume and a summary. Wires the pieces of
// ota_cancel_cli (job_list_reader, results_log, batch_runner, progress_reporter, batch_tally,
// firmware_job_selection) to the flags, the terminal and Ctrl-C. Documented in client/README.md.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ota::client {

// The flags only `ota-cancel batch` takes, as --help shows them.
[[nodiscard]] std::vector<std::string_view> BatchFlagsForHelp();

// For the one-batch form: INVALID_ARGUMENT naming a batch-only flag that was given.
[[nodiscard]] absl::Status RejectBatchOnlyFlags();

// Runs `ota-cancel batch ...`; argv[1] is "batch". Returns the process exit code.
int RunBatchCommand(int argc, char** argv);

}  // namespace ota::client
