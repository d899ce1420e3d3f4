// CallerAuthorizer: the gateway's gatekeeper, checked on every call before anything else (before
// request validation, before the rate limiter).
//
// Either it checks callers against the allow-list in --callers-file (reloaded on SIGHUP; a file
// that does not parse leaves the previous list in force), or, with --allow-unauthenticated, it
// lets everyone through and only names what the caller presented, for the logs and the audit.
//
//   absl::StatusOr<std::unique_ptr<ota::CallerAuthorizer>> authorizer =
//       ota::CallerAuthorizer::FromFile("/etc/ota-gateway/callers.json");
//   ota::AuthDecision decision =
//       (*authorizer)->Authorize(ota::PresentedCredentialsOf(*context), "iot-cn-abc");
//   // on SIGHUP: if (absl::Status s = (*authorizer)->Reload(); !s.ok()) { /* old list kept */ }
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/security/caller_allowlist.h"

namespace ota {

class CallerAuthorizer {
 public:
  // Everyone is allowed (--allow-unauthenticated).
  [[nodiscard]] static std::unique_ptr<CallerAuthorizer> AllowAll();
  // Reads and parses `path`; the error names the file and what is wrong with it.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CallerAuthorizer>> FromFile(std::string path);

  // `rpc`: the method called (kCancelByJobRpc, kListJobsByFirmwareRpc), checked against the
  // caller's `rpcs`.
  [[nodiscard]] AuthDecision Authorize(const PresentedCredentials& presented,
                                       absl::string_view iot_instance_id,
                                       absl::string_view rpc = kCancelByJobRpc) const;

  // Re-reads the file. On error the list in force stays as it was. A no-op for AllowAll().
  [[nodiscard]] absl::Status Reload();

  [[nodiscard]] bool checks_callers() const { return !path_.empty(); }
  // Callers in the list in force (0 for AllowAll()).
  [[nodiscard]] std::size_t caller_count() const;
  // Their names (none for AllowAll()).
  [[nodiscard]] std::vector<std::string> caller_names() const;

 private:
  explicit CallerAuthorizer(std::string path) : path_(std::move(path)) {}

  const std::string path_;  // empty: allow all
  mutable std::mutex mu_;
  // Swapped whole on reload, so a call in progress keeps using the list it started with.
  std::shared_ptr<const CallerAllowList> list_;  // guarded by mu_
};

}  // namespace ota
