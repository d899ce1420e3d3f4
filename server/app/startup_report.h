// Start-up report: what an operator must read in the first lines of the log. Loud warnings for
// every relaxed safety setting (emulator mode, plaintext, unchecked callers, no audit trail), then
// one "ota-gateway serving" line with what this process actually serves and uses.
//
//   ota::LogStartupWarnings(settings, authorizer.checks_callers(), audit != nullptr);
//   ota::LogServing(ota::ServingReport{...});
#pragma once

#include <cstddef>
#include <string>

#include "server/app/gateway_settings.h"

namespace ota {

void LogStartupWarnings(const GatewaySettings& settings, bool callers_checked, bool audited);

// What is decided only once everything is up.
struct ServingReport {
  int port = 0;
  std::string admin_address;  // empty: no admin port
  std::string credentials;    // CredentialsProvider::Describe()
  std::string limiter;        // RateLimiter::Describe()
  std::string query_limiter;  // QueryOTAJob's budget: RateLimiter::Describe()
  std::string list_limiter;   // ListOTAJobByFirmware's budget and its fair dispatcher
  bool callers_checked = false;
  std::size_t caller_count = 0;
};

void LogServing(const GatewaySettings& settings, const ServingReport& report);

}  // namespace ota
