#include "client/ota_cancel_batch.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli_flags/hyphenated_flags.h"
#include "cli_flags/program_help.h"
#include "client/batch_retry_policy.h"
#include "client/batch_runner.h"
#include "client/batch_tally.h"
#include "client/firmware_job_selection.h"
#include "client/flag_usage_check.h"
#include "client/gateway_flags.h"
#include "client/job_list_reader.h"
#include "client/progress_reporter.h"
#include "client/results_log.h"
#include "client/retry_sleeper.h"
#include "server/base/clock.h"

ABSL_FLAG(std::string, jobs, "",
          "batch: file of update batches to cancel, one JOB_ID or JOB_ID,IOT_INSTANCE_ID per "
          "line ('#' comments, blank lines skipped); '-' reads stdin.");
ABSL_FLAG(std::string, firmware_id, "",
          "batch: cancel the firmware's batches that are dynamic and PLANNED or IN_PROGRESS "
          "(listed with ListJobsByFirmware); the others are skipped.");
ABSL_FLAG(std::string, results, "",
          "batch: append one JSON line per batch as it finishes; '-' is stdout. Never "
          "overwrites: an existing file needs --resume.");
ABSL_FLAG(bool, resume, false,
          "batch: read --results first, skip the batches whose last line there is final (OK, "
          "NOT_FOUND, FAILED_PRECONDITION, INVALID_ARGUMENT, PERMISSION_DENIED), append the rest.");
ABSL_FLAG(int, concurrency, ota::client::kDefaultBatchConcurrency,
          "batch: calls in flight at most; the default is about 2 s of the 10 calls/s quota, "
          "enough to keep the gateway's pacing busy.");
ABSL_FLAG(absl::Duration, timeout_per_job, ota::client::kDefaultTimeoutPerJob,
          "batch: time budget of one batch, retries included (each attempt's deadline is what "
          "is left of it).");
ABSL_FLAG(bool, dry_run, false,
          "batch: list what would be cancelled (job id and status, one per line, on stdout); "
          "send no cancel.");
ABSL_FLAG(bool, yes, false,
          "batch: with --firmware-id, cancel without asking (needed without a terminal).");

ABSL_DECLARE_FLAG(std::string, iot_instance_id);
ABSL_DECLARE_FLAG(std::string, job_id);
ABSL_DECLARE_FLAG(absl::Duration, timeout);
ABSL_DECLARE_FLAG(bool, json);

namespace ota::client {
namespace {

constexpr absl::string_view kBatchOnlyFlags[] = {
    "jobs", "firmware_id", "results", "resume", "concurrency", "timeout_per_job", "dry_run", "yes"};
constexpr absl::string_view kSingleOnlyFlags[] = {"job_id", "timeout", "json"};

std::string Shown(absl::string_view name) {
  std::string shown = absl::StrCat("--", name);
  for (char& c : shown) {
    if (c == '_') c = '-';
  }
  return shown;
}

// A flag whose value differs from its default was given (the forms' flags have no default a user
// would spell out).
absl::Status RejectGiven(const absl::string_view* names, std::size_t count,
                         absl::string_view only_for) {
  for (std::size_t i = 0; i < count; ++i) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(names[i]);
    if (flag != nullptr && flag->CurrentValue() != flag->DefaultValue()) {
      return absl::InvalidArgumentError(absl::StrCat(Shown(names[i]), " is for ", only_for));
    }
  }
  return absl::OkStatus();
}

ota::ProgramHelp BatchHelp() {
  std::vector<std::string_view> gateway = GatewayFlagsForHelp();
  return {
      .program = "ota-cancel batch",
      .summary =
          "cancels the dynamic update policy of many OTA update batches via ota-gateway, at the "
          "account's quota, with progress, a results file and resume.",
      .usage =
          "ota-cancel batch --target HOST:PORT (--jobs FILE | --firmware-id ID) "
          "[--iot-instance-id ID]\n"
          "           [--results FILE] [--resume] [--concurrency 20] [--timeout-per-job 1m]\n"
          "           [--dry-run] [--yes] [--tls [--ca-file FILE] [--cert-file FILE "
          "--key-file FILE]]\n"
          "           [--token-file FILE]",
      .groups = {{"Select", {"jobs=FILE", "firmware-id=ID", "iot-instance-id=ID"}},
                 {"Run", {"concurrency", "timeout-per-job", "dry-run", "yes"}},
                 {"Results", {"results=FILE", "resume"}},
                 {"Gateway", gateway},
                 {"One batch only (ota-cancel without 'batch')", {"job-id=ID", "timeout", "json"}}},
      .notes =
          "Progress goes to stderr: a live line on a terminal, a plain line every 5 s "
          "otherwise;\n"
          "then a summary table by code and outcome. Ctrl-C stops starting calls, lets those in\n"
          "flight finish (5 s at most), writes their results and the summary, and exits 130.\n"
          "Environment: OTA_GATEWAY_TARGET, OTA_TOKEN (as for one batch).\n"
          "Exit codes: 0 every batch ended OK, 1 some batch ended with an error, 2 usage or "
          "input\n"
          "            error (nothing sent), 130 interrupted.\n"
          "Example (firmware 2.3.1 bricks devices):\n"
          "  ota-cancel batch --target ota-gateway:50051 --firmware-id s8SSHiKjpBfrM3BSN0z803 \\\n"
          "      --iot-instance-id iot-cn-0pp1n8t --dry-run\n"
          "  ota-cancel batch --target ota-gateway:50051 --firmware-id s8SSHiKjpBfrM3BSN0z803 \\\n"
          "      --iot-instance-id iot-cn-0pp1n8t --results fw231.jsonl\n"
          "  (terminal died?) the same command with --resume: settled batches are not sent again."};
}

int UsageError(absl::string_view message) {
  std::cerr << "ota-cancel batch: " << message << "\nRun 'ota-cancel batch --help' for usage.\n";
  return kBatchExitUsage;
}

absl::StatusOr<std::string> ReadInput(const std::string& path, absl::string_view what) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", what, " '", path, "'"));
  text << in.rdbuf();
  return text.str();
}

// Ctrl-C and SIGTERM are taken by a thread of their own (sigwait), so no code runs in a signal
// handler. Before the run starts, a signal ends the process at once; during it, the first asks
// the runner to stop and a second one ends the process.
class InterruptWatcher {
 public:
  // Blocks the signals in this thread and every thread it creates later: call before any other
  // thread (gRPC's included) exists.
  InterruptWatcher() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    thread_ = std::thread([this] { Watch(); });
  }
  ~InterruptWatcher() {
    done_ = true;
    thread_.join();
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  void Attach(BatchRunner* runner) { runner_ = runner; }

 private:
  void Watch() {
    int received = 0;
    const timespec poll{.tv_sec = 0, .tv_nsec = 100'000'000};
    while (!done_) {
      if (sigtimedwait(&signals_, nullptr, &poll) < 0) continue;
      ++received;
      BatchRunner* runner = runner_;
      if (runner == nullptr || received > 1) {
        std::fputs("\nota-cancel batch: interrupted\n", stderr);
        std::_Exit(kBatchExitInterrupted);
      }
      std::fputs(absl::StrCat("\nota-cancel batch: interrupted: starting no more calls; ",
                              runner->in_flight(), " in flight may finish (",
                              absl::FormatDuration(kDefaultInterruptGrace),
                              " at most; Ctrl-C again to quit now)\n")
                     .c_str(),
                 stderr);
      runner->RequestStop();
    }
  }

  sigset_t signals_{};
  std::atomic<bool> done_{false};
  std::atomic<BatchRunner*> runner_{nullptr};
  std::thread thread_;
};

bool AskToConfirm(std::size_t count, const std::string& firmware_id) {
  std::cerr << "Cancel the dynamic update policy of " << count << " batches of firmware "
            << firmware_id << "? Type 'yes' to go on: " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return absl::StripAsciiWhitespace(answer) == "yes";
}

int Run(int argc, char** argv) {
  // argv without "batch", for the help and the flag parser.
  std::vector<char*> shifted{argv[0]};
  for (int i = 2; i < argc; ++i) shifted.push_back(argv[i]);
  const ota::ProgramHelp help = BatchHelp();
  if (std::optional<int> exit_code =
          ota::HandleHelpAndVersion(static_cast<int>(shifted.size()), shifted.data(), help)) {
    return *exit_code;
  }
  absl::SetProgramUsageMessage(absl::string_view(help.summary.data(), help.summary.size()));
  std::vector<std::string> storage;
  std::vector<char*> args =
      ota::NormalizeFlagNames(static_cast<int>(shifted.size()), shifted.data(), storage);
  if (absl::Status usage = CheckFlagUsage(args); !usage.ok()) return UsageError(usage.message());
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (positional.size() > 1) {
    return UsageError(absl::StrCat("unexpected argument '", positional[1], "'"));
  }
  if (absl::Status misplaced =
          RejectGiven(std::data(kSingleOnlyFlags), std::size(kSingleOnlyFlags),
                      "one batch (ota-cancel without 'batch'); batch uses --jobs, "
                      "--firmware-id and --timeout-per-job");
      !misplaced.ok()) {
    return UsageError(misplaced.message());
  }

  const std::string jobs_path = absl::GetFlag(FLAGS_jobs);
  const std::string firmware_id = absl::GetFlag(FLAGS_firmware_id);
  const std::string iot_instance_id = absl::GetFlag(FLAGS_iot_instance_id);
  const std::string results_path = absl::GetFlag(FLAGS_results);
  const bool resume = absl::GetFlag(FLAGS_resume);
  const bool dry_run = absl::GetFlag(FLAGS_dry_run);
  BatchRunnerOptions options{.concurrency = absl::GetFlag(FLAGS_concurrency),
                             .timeout_per_job = absl::GetFlag(FLAGS_timeout_per_job),
                             .interrupt_grace = kDefaultInterruptGrace};
  if (jobs_path.empty() == firmware_id.empty()) {
    return UsageError("give exactly one of --jobs FILE and --firmware-id ID");
  }
  if (TargetFromFlags().empty()) return UsageError("--target (or OTA_GATEWAY_TARGET) is required");
  if (options.concurrency < 1 || options.concurrency > 1000) {
    return UsageError("--concurrency must be 1 to 1000");
  }
  if (options.timeout_per_job < kMinAttemptTime ||
      options.timeout_per_job == absl::InfiniteDuration()) {
    return UsageError(absl::StrCat("--timeout-per-job must be finite and at least ",
                                   absl::FormatDuration(kMinAttemptTime)));
  }
  if (resume && (results_path.empty() || results_path == "-")) {
    return UsageError("--resume needs --results FILE (the file of the run to resume)");
  }
  if (!firmware_id.empty() && !IsValidBatchId(firmware_id)) {
    return UsageError("--firmware-id must be 1 to 64 characters from A-Z a-z 0-9 _ -");
  }
  if (!iot_instance_id.empty() && !IsValidBatchId(iot_instance_id)) {
    return UsageError("--iot-instance-id must be 1 to 64 characters from A-Z a-z 0-9 _ -");
  }
  const bool interactive = isatty(STDIN_FILENO) == 1 && isatty(STDERR_FILENO) == 1;
  if (!firmware_id.empty() && !dry_run && !absl::GetFlag(FLAGS_yes) && !interactive) {
    return UsageError("--firmware-id without a terminal needs --yes (or --dry-run first)");
  }

  // Everything the run needs that can be wrong on the command line is checked before any call.
  std::vector<BatchJob> jobs;
  std::vector<std::string> statuses;  // per job, for --dry-run
  if (!jobs_path.empty()) {
    absl::StatusOr<std::string> text = ReadInput(jobs_path, "job list");
    if (!text.ok()) return UsageError(text.status().message());
    absl::StatusOr<JobList> list = ParseJobList(*text);
    if (!list.ok()) {
      return UsageError(absl::StrCat(jobs_path == "-" ? "stdin" : jobs_path, ": ",
                                     list.status().message(), "; nothing was sent"));
    }
    for (const std::string& warning : list->warnings) {
      std::cerr << "ota-cancel batch: " << jobs_path << ": " << warning << "\n";
    }
    for (BatchJob& job : list->jobs) {
      // A line without an instance takes --iot-instance-id.
      if (job.iot_instance_id.empty()) job.iot_instance_id = iot_instance_id;
      jobs.push_back(std::move(job));
      statuses.emplace_back("LISTED");
    }
  }
  std::optional<ResumeState> resume_state;
  if (resume) {
    absl::StatusOr<std::string> text = ReadInput(results_path, "results file");
    resume_state = ReadResumeState(text.ok() ? *text : std::string());
    if (!text.ok()) std::cerr << "ota-cancel batch: " << results_path << " not found; starting\n";
    for (const std::string& warning : resume_state->warnings) {
      std::cerr << "ota-cancel batch: " << results_path << ": " << warning << "\n";
    }
  }
  std::unique_ptr<ResultsLog> results;
  if (!results_path.empty() && !dry_run) {
    absl::StatusOr<std::unique_ptr<ResultsLog>> opened = ResultsLog::Open(results_path, resume);
    if (!opened.ok()) return UsageError(opened.status().message());
    results = *std::move(opened);
  }

  InterruptWatcher interrupts;
  absl::StatusOr<OtaClient> client = ConnectFromFlags();
  if (!client.ok()) return UsageError(client.status().message());
  const ota::Clock& clock = ota::SystemClock::Get();
  RealRetrySleeper sleeper;
  const BatchRetryPolicy retry;
  std::vector<SkippedJob> skipped;

  if (!firmware_id.empty()) {
    absl::StatusOr<std::vector<ota::v1::OtaJob>> listed = ListAllFirmwareJobs(
        [&client](const ota::v1::ListJobsByFirmwareRequest& request, absl::Duration timeout) {
          return client->ListJobsByFirmware(request, timeout);
        },
        firmware_id, iot_instance_id, options.timeout_per_job, retry, sleeper, clock);
    if (!listed.ok()) {
      std::cerr << "ota-cancel batch: " << listed.status().message() << "\n";
      return kBatchExitSomeFailed;
    }
    FirmwareSelection selection = SelectCancellable(*listed);
    std::cerr << "ota-cancel batch: firmware " << firmware_id << ": " << listed->size()
              << " batches listed, " << selection.to_cancel.size() << " to cancel, "
              << selection.skipped.size() << " skipped\n";
    for (const SkippedJob& skip : selection.skipped) {
      std::cerr << "ota-cancel batch: skipped " << skip.job.job_id() << ": " << skip.why << "\n";
    }
    for (const ota::v1::OtaJob& job : selection.to_cancel) {
      jobs.push_back({.job_id = job.job_id(), .iot_instance_id = iot_instance_id});
      statuses.push_back(JobStatusText(job.job_status()));
    }
    skipped = std::move(selection.skipped);
  }
  std::vector<std::string> settled_codes;  // of the batches an earlier run settled
  if (resume_state) {
    std::vector<BatchJob> left;
    std::vector<std::string> left_statuses;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (const auto it = resume_state->settled.find(jobs[i]); it != resume_state->settled.end()) {
        settled_codes.push_back(it->second);
        continue;
      }
      left.push_back(jobs[i]);
      left_statuses.push_back(statuses[i]);
    }
    std::cerr << "ota-cancel batch: resuming " << results_path << ": " << jobs.size() - left.size()
              << " batches already settled there, " << left.size() << " to go\n";
    jobs = std::move(left);
    statuses = std::move(left_statuses);
  }

  if (dry_run) {
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      std::cout << jobs[i].job_id << "\t" << statuses[i] << "\n";
    }
    std::cout << std::flush;
    std::cerr << "ota-cancel batch: dry run: " << jobs.size()
              << " batches would be cancelled; nothing was sent\n";
    return kBatchExitOk;
  }
  if (!firmware_id.empty() && !absl::GetFlag(FLAGS_yes) && !jobs.empty() &&
      !AskToConfirm(jobs.size(), firmware_id)) {
    std::cerr << "ota-cancel batch: not confirmed; nothing was sent\n";
    return kBatchExitUsage;
  }

  BatchTally tally(static_cast<int>(jobs.size()));
  for (const SkippedJob& skip : skipped) tally.AddSkipped(skip.why);
  for (const std::string& code : settled_codes) tally.AddSettledEarlier(code);
  BatchRunner runner(
      options,
      [&client](const BatchJob& job, absl::Duration timeout) {
        return client->CancelByJob(job.job_id, job.iot_instance_id, timeout);
      },
      clock, sleeper, retry);
  std::atomic<bool> write_failed{false};
  ProgressReporter progress(std::cerr, isatty(STDERR_FILENO) == 1, clock,
                            [&tally] { return tally.Snapshot(); });
  BatchRunReport report;
  {
    interrupts.Attach(&runner);
    const ProgressThread progress_thread(progress);
    report = runner.Run(jobs, [&](const JobResult& result) {
      tally.Add(result);
      if (results != nullptr && !results->Write(result)) write_failed = true;
    });
    interrupts.Attach(nullptr);
  }
  const TallySnapshot final_tally = tally.Snapshot();
  std::cerr << "\n" << RenderSummaryTable(final_tally);
  if (write_failed) {
    std::cerr << "ota-cancel batch: writing " << results_path << " failed; the record is "
              << "incomplete\n";
  }
  if (report.interrupted && !results_path.empty()) {
    std::cerr << "ota-cancel batch: interrupted; run the same command with --resume to go on\n";
  }
  const int exit_code = write_failed && !report.interrupted
                            ? kBatchExitSomeFailed
                            : ExitCodeForBatch(final_tally, report.interrupted);
  if (report.abandoned > 0) {
    // Calls still blocked in gRPC hold the client and the clock: leave without destructors.
    std::cout << std::flush;
    std::cerr << std::flush;
    std::_Exit(exit_code);
  }
  return exit_code;
}

}  // namespace

std::vector<std::string_view> BatchFlagsForHelp() {
  return {"jobs=FILE",   "firmware-id=ID",  "results=FILE", "resume",
          "concurrency", "timeout-per-job", "dry-run",      "yes"};
}

absl::Status RejectBatchOnlyFlags() {
  return RejectGiven(std::data(kBatchOnlyFlags), std::size(kBatchOnlyFlags), "'ota-cancel batch'");
}

int RunBatchCommand(int argc, char** argv) { return Run(argc, argv); }

}  // namespace ota::client
