// INI credentials file (`~/.alibabacloud/credentials`, or ALIBABA_CLOUD_CREDENTIALS_FILE): the
// profile file the official Alibaba Cloud SDKs read.
//
//   [default]
//   type = access_key              # or sts, ecs_ram_role, oidc_role_arn
//   access_key_id = LTAI...
//   access_key_secret = ...
//
// Keys by type: access_key: access_key_id, access_key_secret; sts: those and security_token;
// ecs_ram_role: role_name (optional); oidc_role_arn: role_arn, oidc_provider_arn,
// oidc_token_file_path, role_session_name (optional). ram_role_arn (AssumeRole signed with another
// key) is recognised but not supported by ota-gateway, and says so.
//
//   absl::StatusOr<ota::IniFile> ini = ota::ParseIni(text, path);
//   absl::StatusOr<ota::CredentialProfile> profile = ota::ProfileFromIni(*ini, path, "default");
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/credentials/sources/credential_profile.h"

namespace ota {

struct IniEntry {
  std::string key;
  std::string value;
  int line = 0;
};

struct IniSection {
  std::string name;
  int line = 0;
  std::vector<IniEntry> entries;
  // The entry named `key`, or nullptr.
  [[nodiscard]] const IniEntry* Find(absl::string_view key) const;
};

struct IniFile {
  std::vector<IniSection> sections;
  [[nodiscard]] const IniSection* Find(absl::string_view name) const;
};

// Parses INI text: [section] headers, `key = value` lines, full-line comments starting with # or
// ;, and ` #` comments after a value. INVALID_ARGUMENT naming `file_name:line` for anything else
// (a key outside a section, a line without '=', a repeated section or key). Errors never quote a
// value, which may be a secret.
[[nodiscard]] absl::StatusOr<IniFile> ParseIni(absl::string_view text, absl::string_view file_name);

// The profile `name` of a parsed credentials file. NOT_FOUND when there is no such section;
// INVALID_ARGUMENT naming file, line and key for a missing or unknown type or a missing key;
// UNIMPLEMENTED for a known type ota-gateway does not support.
[[nodiscard]] absl::StatusOr<CredentialProfile> ProfileFromIni(const IniFile& ini,
                                                               absl::string_view file_name,
                                                               absl::string_view name);

}  // namespace ota
