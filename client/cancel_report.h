// How ota-cancel reports the result of a CancelByJob call: its process exit code and its JSON form.
// Scripts branch on the exit code (one per kind of failure), programs read the JSON object.
//
//   ota::client::CancelResult result = client.CancelByJob(job_id);
//   std::cout << ota::client::CancelResultToJson(result).dump() << "\n";
//   return ota::client::ExitCodeFor(result);
#pragma once

#include <nlohmann/json.hpp>

#include "client/ota_client.h"

namespace ota::client {

// Documented in client/README.md; scripts depend on these numbers, so never renumber them.
enum ExitCode : int {
  kExitOk = 0,
  kExitOther = 1,  // PERMISSION_DENIED, INTERNAL, UNAUTHENTICATED, UNKNOWN, ...
  kExitUsage = 2,  // bad command line or unusable TLS/token files; nothing was sent
  kExitInvalidArgument = 3,
  kExitNotFound = 4,
  kExitFailedPrecondition = 5,
  kExitResourceExhausted = 6,
  kExitUnavailable = 7,  // UNAVAILABLE or DEADLINE_EXCEEDED: transient, retrying may help
};

[[nodiscard]] ExitCode ExitCodeFor(const CancelResult& result);

// Success: {"ok":true,"request_id":"..."}.
// Failure: {"ok":false,"code":"NOT_FOUND","grpc_code":5,"message":"...","reason":...,"domain":...,
//           "alibaba_code":...,"alibaba_request_id":...,"http_status":...,"retry_delay_seconds":...,
//           "field_violations":[{"field":"job_id","description":"..."}]}
// Every failure key is always present; details the gateway did not send are null (an empty array
// for field_violations), so readers need no existence checks.
[[nodiscard]] nlohmann::json CancelResultToJson(const CancelResult& result);

}  // namespace ota::client
