// CallerAllowList: which callers may call which RPCs (CancelByJob, ListJobsByFirmware), and for
// which IoT instances.
//
// Loaded from the JSON file given by --callers-file (format in README.md, "Security"):
//
//   {"callers": [
//     {"name": "rollout-service",
//      "identities": [{"mtls_san": "spiffe://corp.example/rollout"},
//                     {"token_sha256":
//                     "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}],
//      "iot_instance_ids": ["iot-cn-abc", ""],
//      "rpcs": ["CancelByJob", "ListJobsByFirmware"]}]}
//
//   absl::StatusOr<ota::CallerAllowList> list = ota::CallerAllowList::Parse(json_text);
//   ota::AuthDecision decision =
//       list->Authorize(presented, request.iot_instance_id(), ota::kCancelByJobRpc);
//   if (decision.code != absl::StatusCode::kOk) { /* reply decision.message */ }
//
// An identity is exactly one of: `mtls_san` (a URI or DNS SAN of a client certificate verified by
// --tls-client-ca-file), `mtls_cn` (the subject CN of such a certificate, used only when it has no
// URI/DNS SAN) or `token_sha256` (SHA-256 hex of a bearer token). `iot_instance_ids` absent or
// empty: any instance; otherwise only those listed, the default instance only as "". `share`
// (optional positive integer, default 1) weighs the caller's part of the quota when callers
// compete; `max_queued` (optional positive integer) caps its calls waiting for a slot. `rpcs`
// (optional, default every RPC) names the RPCs the caller may call: a caller that only cancels
// need not be able to list a firmware's batches, and a read-only dashboard need not cancel.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/security/caller_identity.h"

namespace ota {

// The RPC names `rpcs` may list (the methods of ota.v1.OtaStrategyService).
inline constexpr absl::string_view kCancelByJobRpc = "CancelByJob";
inline constexpr absl::string_view kListJobsByFirmwareRpc = "ListJobsByFirmware";

// Who a call came from and whether it may proceed. `caller` is the allow-list name (empty when
// unknown); `identity` says what proved it, safe to log (e.g. "mtls_san:spiffe://x",
// "token_sha256:9f86d0818..." (a prefix of the configured hash), never a token).
struct AuthDecision {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string caller;
  std::string identity;
  std::string message;  // for the caller, on UNAUTHENTICATED / PERMISSION_DENIED
  // The caller's part of the account's quota when callers compete, and how many of its calls may
  // wait for a slot (0: the gateway's default), from its entry in the callers file.
  int share = 1;
  int max_queued = 0;

  [[nodiscard]] bool ok() const { return code == absl::StatusCode::kOk; }
};

// What the logs and audit lines call a caller that is not checked (--allow-unauthenticated): the
// certificate name if it presented one, else "anonymous". A token is not looked at.
[[nodiscard]] AuthDecision UncheckedCaller(const PresentedCredentials& presented);

class CallerAllowList {
 public:
  struct Caller {
    std::string name;
    std::vector<std::string> mtls_sans;
    std::vector<std::string> mtls_cns;
    std::vector<std::string> token_sha256s;     // lowercase hex
    std::vector<std::string> iot_instance_ids;  // empty: any
    std::vector<std::string> rpcs;              // empty: every RPC
    int share = 1;                              // weight in the fair share of the quota
    int max_queued = 0;                         // calls waiting for a slot; 0: gateway default
  };

  // INVALID_ARGUMENT says what is wrong and where (caller index or name).
  [[nodiscard]] static absl::StatusOr<CallerAllowList> Parse(absl::string_view json_text);

  // OK with the caller's name; UNAUTHENTICATED when nothing presented matches a caller;
  // PERMISSION_DENIED when a known caller calls an RPC its `rpcs` does not name, or asks for an
  // instance it is not allowed.
  [[nodiscard]] AuthDecision Authorize(const PresentedCredentials& presented,
                                       absl::string_view iot_instance_id,
                                       absl::string_view rpc = kCancelByJobRpc) const;

  [[nodiscard]] const std::vector<Caller>& callers() const { return callers_; }

 private:
  std::vector<Caller> callers_;
};

}  // namespace ota
