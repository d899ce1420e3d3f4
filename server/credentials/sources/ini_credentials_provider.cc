#include "server/credentials/sources/ini_credentials_provider.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace ota {
namespace {

absl::Status LineError(absl::string_view file_name, int line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(file_name, ":", line, ": ", problem));
}

// Drops a " #" or " ;" comment after a value (values never need those sequences: AccessKeys are
// alphanumeric, ARNs and paths have no spaces).
absl::string_view StripTrailingComment(absl::string_view value) {
  for (std::size_t i = 1; i < value.size(); ++i) {
    if ((value[i] == '#' || value[i] == ';') &&
        absl::ascii_isspace(static_cast<unsigned char>(value[i - 1]))) {
      return absl::StripTrailingAsciiWhitespace(value.substr(0, i));
    }
  }
  return value;
}

}  // namespace

const IniEntry* IniSection::Find(absl::string_view key) const {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const IniEntry& entry) { return entry.key == key; });
  return it == entries.end() ? nullptr : &*it;
}

const IniSection* IniFile::Find(absl::string_view name) const {
  auto it = std::find_if(sections.begin(), sections.end(),
                         [&](const IniSection& section) { return section.name == name; });
  return it == sections.end() ? nullptr : &*it;
}

absl::StatusOr<IniFile> ParseIni(absl::string_view text, absl::string_view file_name) {
  IniFile ini;
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++number;
    const absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') return LineError(file_name, number, "section header lacks ']'");
      std::string name(absl::StripAsciiWhitespace(line.substr(1, line.size() - 2)));
      if (name.empty()) return LineError(file_name, number, "empty section name");
      if (const IniSection* earlier = ini.Find(name)) {
        return LineError(file_name, number,
                         absl::StrCat("section [", name, "] repeats line ", earlier->line));
      }
      ini.sections.push_back({.name = std::move(name), .line = number, .entries = {}});
      continue;
    }
    const std::size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return LineError(file_name, number, "expected 'key = value' or '[section]'");
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, equals)));
    if (key.empty()) return LineError(file_name, number, "empty key before '='");
    if (ini.sections.empty()) {
      return LineError(file_name, number, absl::StrCat("key '", key, "' outside any [section]"));
    }
    IniSection& section = ini.sections.back();
    if (const IniEntry* earlier = section.Find(key)) {
      return LineError(file_name, number,
                       absl::StrCat("key '", key, "' repeats line ", earlier->line));
    }
    const absl::string_view value =
        StripTrailingComment(absl::StripAsciiWhitespace(line.substr(equals + 1)));
    section.entries.push_back({.key = std::move(key), .value = std::string(value), .line = number});
  }
  return ini;
}

absl::StatusOr<CredentialProfile> ProfileFromIni(const IniFile& ini, absl::string_view file_name,
                                                 absl::string_view name) {
  const IniSection* section = ini.Find(name);
  if (section == nullptr) {
    return absl::NotFoundError(absl::StrCat(file_name, " has no profile [", name, "]"));
  }
  // A required key, or an error naming where it should have been.
  auto required = [&](absl::string_view key) -> absl::StatusOr<std::string> {
    const IniEntry* entry = section->Find(key);
    if (entry == nullptr) {
      return LineError(file_name, section->line,
                       absl::StrCat("profile [", name, "] lacks '", key, "'"));
    }
    if (entry->value.empty()) {
      return LineError(file_name, entry->line, absl::StrCat("'", key, "' is empty"));
    }
    return entry->value;
  };
  auto optional = [&](absl::string_view key) {
    const IniEntry* entry = section->Find(key);
    return entry == nullptr ? std::string() : entry->value;
  };
  absl::StatusOr<std::string> type = required("type");
  if (!type.ok()) return type.status();
  const std::string description =
      absl::StrCat("profile [", name, "] (type ", *type, ") of ", file_name);

  if (*type == "access_key" || *type == "sts") {
    absl::StatusOr<std::string> id = required("access_key_id");
    if (!id.ok()) return id.status();
    absl::StatusOr<std::string> secret = required("access_key_secret");
    if (!secret.ok()) return secret.status();
    std::string token;
    if (*type == "sts") {
      absl::StatusOr<std::string> security_token = required("security_token");
      if (!security_token.ok()) return security_token.status();
      token = *std::move(security_token);
    }
    return FixedKeyProfile(*std::move(id), *std::move(secret), std::move(token), description);
  }
  if (*type == "ecs_ram_role") {
    return CredentialProfile{.source = EcsRamRoleConfig{.role_name = optional("role_name")},
                             .description = description};
  }
  if (*type == "oidc_role_arn") {
    OidcRoleConfig role{.role_arn = optional("role_arn"),
                        .oidc_provider_arn = optional("oidc_provider_arn"),
                        .oidc_token_file = optional("oidc_token_file_path"),
                        .role_session_name = optional("role_session_name")};
    for (const char* key : {"role_arn", "oidc_provider_arn", "oidc_token_file_path"}) {
      if (absl::StatusOr<std::string> value = required(key); !value.ok()) return value.status();
    }
    return CredentialProfile{.source = std::move(role), .description = description};
  }
  const IniEntry* type_entry = section->Find("type");
  if (*type == "ram_role_arn" || *type == "rsa_key_pair" || *type == "credentials_uri") {
    return absl::UnimplementedError(
        absl::StrCat(file_name, ":", type_entry->line, ": profile [", name, "] has type ", *type,
                     ", which ota-gateway does not support (use access_key, sts, ecs_ram_role or "
                     "oidc_role_arn)"));
  }
  return LineError(file_name, type_entry->line,
                   absl::StrCat("profile [", name, "] has unknown type '", *type,
                                "' (expected access_key, sts, ecs_ram_role or oidc_role_arn)"));
}

}  // namespace ota
