// ota-cancel: cancels the dynamic update policy of one OTA update batch through ota-gateway, or of
// many with `ota-cancel batch` (client/ota_cancel_batch.h). Flags, output and exit codes are
// documented in client/README.md.
#include <grpc/support/log.h>

#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli_flags/hyphenated_flags.h"
#include "cli_flags/program_help.h"
#include "client/cancel_report.h"
#include "client/flag_usage_check.h"
#include "client/gateway_flags.h"
#include "client/ota_cancel_batch.h"
#include "client/ota_client.h"

ABSL_FLAG(std::string, job_id, "", "Required. The update batch (Alibaba JobId) to cancel.");
ABSL_FLAG(std::string, iot_instance_id, "",
          "The IoT Platform instance (Alibaba IotInstanceId); empty for the old public instance.");
ABSL_FLAG(absl::Duration, timeout, ota::client::kDefaultTimeout,
          "Deadline of the call, for example 500ms, 10s, 1m.");
ABSL_FLAG(bool, json, false, "Print one JSON object to stdout instead of text.");

namespace {

using ota::client::kExitUsage;

ota::ProgramHelp Help() {
  return {
      .program = "ota-cancel",
      .summary =
          "cancels the dynamic update policy of an Alibaba Cloud IoT OTA update batch via "
          "ota-gateway.",
      .usage =
          "ota-cancel --target HOST:PORT --job-id ID [--iot-instance-id ID] [--timeout 10s] "
          "[--json]\n"
          "           [--tls [--ca-file FILE] [--cert-file FILE --key-file FILE]] "
          "[--token-file FILE]\n"
          "ota-cancel batch --target HOST:PORT (--jobs FILE | --firmware-id ID) [...]   "
          "(many batches;\n"
          "           see 'ota-cancel batch --help')",
      .groups = {{"Call", {"job-id=ID", "iot-instance-id=ID", "timeout"}},
                 {"Gateway", ota::client::GatewayFlagsForHelp()},
                 {"Output", {"json"}},
                 {"Many batches (ota-cancel batch --help)", ota::client::BatchFlagsForHelp()}},
      .notes =
          "Environment: OTA_GATEWAY_TARGET (when --target is not given), OTA_TOKEN (the bearer\n"
          "token, when --token-file is not given; never a flag value).\n"
          "Exit codes: 0 ok, 1 other error, 2 usage error, 3 invalid argument, 4 not found,\n"
          "            5 failed precondition, 6 resource exhausted, 7 unavailable or deadline "
          "exceeded.\n"
          "Example: ota-cancel --target 127.0.0.1:50051 --job-id JOB-1 --json"};
}

int UsageError(absl::string_view message) {
  std::cerr << "ota-cancel: " << message << "\nRun 'ota-cancel --help' for usage.\n";
  return kExitUsage;
}

int Run(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "batch") {
    return ota::client::RunBatchCommand(argc, argv);
  }
  const ota::ProgramHelp help = Help();
  if (std::optional<int> exit_code = ota::HandleHelpAndVersion(argc, argv, help)) {
    return *exit_code;
  }
  // Abseil's messages about a bad flag point at --help (ours, above).
  absl::SetProgramUsageMessage(absl::string_view(help.summary.data(), help.summary.size()));
  std::vector<std::string> storage;
  std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
  if (absl::Status usage = ota::client::CheckFlagUsage(args); !usage.ok()) {
    return UsageError(usage.message());
  }
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  if (positional.size() > 1) {
    return UsageError(absl::StrCat("unexpected argument '", positional[1], "'"));
  }

  if (ota::client::TargetFromFlags().empty()) {
    return UsageError("--target (or OTA_GATEWAY_TARGET) is required");
  }
  if (absl::Status misplaced = ota::client::RejectBatchOnlyFlags(); !misplaced.ok()) {
    return UsageError(misplaced.message());
  }
  const std::string job_id = absl::GetFlag(FLAGS_job_id);
  if (job_id.empty()) return UsageError("--job-id is required");
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return UsageError("--timeout must be positive and finite");
  }

  absl::StatusOr<ota::client::OtaClient> client = ota::client::ConnectFromFlags();
  if (!client.ok()) return UsageError(client.status().message());

  const ota::client::CancelResult result =
      client->CancelByJob(job_id, absl::GetFlag(FLAGS_iot_instance_id), timeout);
  if (absl::GetFlag(FLAGS_json)) {
    std::cout << ota::client::CancelResultToJson(result).dump() << "\n";
  } else if (result.ok()) {
    // Both are success (exit 0): the batch's policy is cancelled either way.
    std::cout << ota::client::CancelOutcomeText(result.outcome) << " (Alibaba RequestId "
              << result.request_id << ")\n";
  } else {
    std::cerr << "ota-cancel: " << ota::client::FormatCallError(*result.error) << "\n";
  }
  return ota::client::ExitCodeFor(result);
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's own log lines (a failed TLS handshake, a refused connection) are for gRPC's developers;
  // ota-cancel reports every failure itself, as one line or one JSON object.
  gpr_set_log_function([](gpr_log_func_args* /*args*/) {});
  return Run(argc, argv);
}
