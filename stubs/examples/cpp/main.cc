// ota-cancel-example: one CancelByJob call through the installed ota_gateway::client package.
//
// It exists to prove that a project outside the ota-gateway tree can find the package with
// find_package(OtaGateway), compile against its headers and link it; stubs/tests/test_live_stubs.py
// runs it against a live gateway and reads what it prints.
//
//   ota-cancel-example 127.0.0.1:50051 HvKuBpuk3rdk6E92CP0200             # 10 s deadline
//   ota-cancel-example 127.0.0.1:50051 HvKuBpuk3rdk6E92CP0200 300         # 300 ms deadline
//
// Prints `request_id=<Alibaba RequestId> outcome=<CancelOutcome name>` and exits 0 on success;
// prints the decoded error (code, message, ErrorInfo / RetryInfo / BadRequest fields) and exits 1
// when the gateway refused; exits 2 on a usage error.
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/error_reason.h"
#include "client/ota_client.h"

namespace {

constexpr int kUsageError = 2;

int Usage() {
  std::cerr << "usage: ota-cancel-example <gateway host:port> <job_id> [timeout_ms]\n";
  return kUsageError;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) return Usage();
  absl::Duration timeout = ota::client::kDefaultTimeout;
  if (argc == 4) {
    const std::string_view text = argv[3];
    int millis = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), millis);
    if (error != std::errc() || end != text.data() + text.size() || millis <= 0) return Usage();
    timeout = absl::Milliseconds(millis);
  }

  // Plaintext: the example talks to a gateway on loopback; see ConnectOptions for TLS and tokens.
  absl::StatusOr<ota::client::OtaClient> client =
      ota::client::OtaClient::Connect(argv[1], {.use_tls = false});
  if (!client.ok()) {
    std::cerr << client.status() << "\n";
    return kUsageError;
  }

  const ota::client::CancelResult result =
      client->CancelByJob(argv[2], /*iot_instance_id=*/"", timeout);
  if (result.ok()) {
    std::cout << "request_id=" << result.request_id
              << " outcome=" << ota::v1::CancelOutcome_Name(result.outcome) << "\n";
    return EXIT_SUCCESS;
  }
  // The decoded google.rpc details, one line: what a caller logs or branches on; the reason also
  // as the contract's enum, which is what to branch on (ERROR_REASON_UNSPECIFIED: a reason this
  // contract version does not know).
  std::cout << ota::client::FormatCallError(*result.error) << " known_reason="
            << ota::v1::ErrorReason_Name(ota::client::ReasonFromString(result.error->reason))
            << "\n";
  return EXIT_FAILURE;
}
