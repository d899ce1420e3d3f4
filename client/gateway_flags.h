// The flags with which both forms of ota-cancel (one batch, and `ota-cancel batch`) reach the
// gateway: --target, --tls, --ca-file, --cert-file, --key-file, --token-file, with the
// environment fallbacks OTA_GATEWAY_TARGET and OTA_TOKEN.
//
//   absl::StatusOr<ota::client::OtaClient> client = ota::client::ConnectFromFlags();
//   if (!client.ok()) return UsageError(client.status().message());  // nothing was sent
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "client/ota_client.h"

ABSL_DECLARE_FLAG(std::string, target);
ABSL_DECLARE_FLAG(bool, tls);
ABSL_DECLARE_FLAG(std::string, ca_file);
ABSL_DECLARE_FLAG(std::string, cert_file);
ABSL_DECLARE_FLAG(std::string, key_file);
ABSL_DECLARE_FLAG(std::string, token_file);

namespace ota::client {

// The flags above as --help shows them (for ProgramHelp's "Gateway" group).
[[nodiscard]] std::vector<std::string_view> GatewayFlagsForHelp();

// --target, or $OTA_GATEWAY_TARGET when the flag is not given; empty when neither is.
[[nodiscard]] std::string TargetFromFlags();

// Builds the client from the flags and environment. INVALID_ARGUMENT/NOT_FOUND when the target is
// missing or a TLS or token file is unusable; never contacts the gateway. Read the environment
// while the process is still single-threaded.
[[nodiscard]] absl::StatusOr<OtaClient> ConnectFromFlags();

}  // namespace ota::client
