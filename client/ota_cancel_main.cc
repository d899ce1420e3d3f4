// ota-cancel: cancels the dynamic update policy of one OTA update batch through ota-gateway.
// Flags, output and exit codes are documented in client/README.md.
#include <grpc/support/log.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "cli_flags/hyphenated_flags.h"
#include "cli_flags/program_help.h"
#include "client/cancel_report.h"
#include "client/flag_usage_check.h"
#include "client/ota_client.h"

ABSL_FLAG(std::string, target, "",
          "ota-gateway address, HOST:PORT or a gRPC target URI. Default: $OTA_GATEWAY_TARGET.");
ABSL_FLAG(std::string, job_id, "", "Required. The update batch (Alibaba JobId) to cancel.");
ABSL_FLAG(std::string, iot_instance_id, "",
          "The IoT Platform instance (Alibaba IotInstanceId); empty for the old public instance.");
ABSL_FLAG(absl::Duration, timeout, ota::client::kDefaultTimeout,
          "Deadline of the call, for example 500ms, 10s, 1m.");
ABSL_FLAG(bool, json, false, "Print one JSON object to stdout instead of text.");
ABSL_FLAG(bool, tls, false, "Connect with TLS (default: plaintext).");
ABSL_FLAG(std::string, ca_file, "", "With --tls: PEM CA certificates (default: system roots).");
ABSL_FLAG(std::string, cert_file, "", "With --tls: PEM client certificate chain for mTLS.");
ABSL_FLAG(std::string, key_file, "", "With --tls: PEM client private key for mTLS.");
ABSL_FLAG(std::string, token_file, "",
          "File holding a bearer token, sent as 'authorization: Bearer <token>'. Default: the "
          "token in $OTA_TOKEN, if set.");

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
          "[--token-file FILE]",
      .groups = {{"Call", {"job-id=ID", "iot-instance-id=ID", "timeout"}},
                 {"Gateway",
                  {"target=HOST:PORT", "tls", "ca-file=FILE", "cert-file=FILE", "key-file=FILE",
                   "token-file=FILE"}},
                 {"Output", {"json"}}},
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

absl::StatusOr<std::string> ReadToken(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open token file '", path, "'"));
  std::ostringstream contents;
  contents << in.rdbuf();
  // Token files usually end with a newline that is not part of the token.
  std::string token(absl::StripAsciiWhitespace(contents.str()));
  if (token.empty())
    return absl::InvalidArgumentError(absl::StrCat("token file '", path, "' is empty"));
  return token;
}

int Run(int argc, char** argv) {
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

  std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) {
    // Read before any channel exists, while the process is still single-threaded.
    // NOLINTNEXTLINE(concurrency-mt-unsafe)
    if (const char* env = std::getenv("OTA_GATEWAY_TARGET"); env != nullptr) target = env;
  }
  if (target.empty()) return UsageError("--target (or OTA_GATEWAY_TARGET) is required");
  const std::string job_id = absl::GetFlag(FLAGS_job_id);
  if (job_id.empty()) return UsageError("--job-id is required");
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);
  if (timeout <= absl::ZeroDuration() || timeout == absl::InfiniteDuration()) {
    return UsageError("--timeout must be positive and finite");
  }

  ota::client::ConnectOptions options{
      .use_tls = absl::GetFlag(FLAGS_tls),
      .ca_file = absl::GetFlag(FLAGS_ca_file),
      .cert_file = absl::GetFlag(FLAGS_cert_file),
      .key_file = absl::GetFlag(FLAGS_key_file),
  };
  if (const std::string token_file = absl::GetFlag(FLAGS_token_file); !token_file.empty()) {
    absl::StatusOr<std::string> token = ReadToken(token_file);
    if (!token.ok()) return UsageError(token.status().message());
    options.bearer_token = *std::move(token);
  } else if (const char* env = std::getenv("OTA_TOKEN");  // NOLINT(concurrency-mt-unsafe): 1 thread
             env != nullptr) {
    options.bearer_token = std::string(absl::StripAsciiWhitespace(env));
  }
  absl::StatusOr<ota::client::OtaClient> client = ota::client::OtaClient::Connect(target, options);
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
