#include "server/security/caller_allowlist.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "server/security/token_hash.h"

namespace ota {
namespace {

using Json = nlohmann::json;

// Bounds "share" and "max_queued": far beyond any sensible value, well within an int.
constexpr std::int64_t kMaxShareOrQueue = 1000000;

absl::Status CallerError(std::size_t index, absl::string_view name, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(
      "callers[", index, "]", name.empty() ? "" : absl::StrCat(" (", name, ")"), ": ", problem));
}

absl::StatusOr<std::vector<std::string>> StringList(const Json& value) {
  if (!value.is_array()) return absl::InvalidArgumentError("must be a list of strings");
  std::vector<std::string> out;
  for (const Json& item : value) {
    if (!item.is_string()) return absl::InvalidArgumentError("must be a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

absl::StatusOr<CallerAllowList::Caller> ParseCaller(const Json& entry, std::size_t index) {
  CallerAllowList::Caller caller;
  if (!entry.is_object()) return CallerError(index, "", "must be an object");
  for (const auto& [key, value] : entry.items()) {
    if (key != "name" && key != "identities" && key != "iot_instance_ids" && key != "share" &&
        key != "max_queued" && key != "rpcs") {
      return CallerError(index, "",
                         absl::StrCat("unknown key '", key,
                                      "' (expected name, identities, iot_instance_ids, share, "
                                      "max_queued, rpcs)"));
    }
  }
  if (!entry.contains("name") || !entry["name"].is_string() ||
      entry["name"].get<std::string>().empty()) {
    return CallerError(index, "", "needs a non-empty string \"name\"");
  }
  caller.name = entry["name"].get<std::string>();
  if (!entry.contains("identities") || !entry["identities"].is_array() ||
      entry["identities"].empty()) {
    return CallerError(index, caller.name, "needs a non-empty list \"identities\"");
  }
  for (const Json& identity : entry["identities"]) {
    if (!identity.is_object() || identity.size() != 1 || !identity.begin().value().is_string()) {
      return CallerError(index, caller.name,
                         "each identity is an object with exactly one of mtls_san, mtls_cn, "
                         "token_sha256 and a string value");
    }
    const std::string& kind = identity.begin().key();
    std::string value = identity.begin().value().get<std::string>();
    if (value.empty()) return CallerError(index, caller.name, absl::StrCat(kind, " is empty"));
    if (kind == "mtls_san") {
      caller.mtls_sans.push_back(std::move(value));
    } else if (kind == "mtls_cn") {
      caller.mtls_cns.push_back(std::move(value));
    } else if (kind == "token_sha256") {
      if (!IsSha256Hex(value)) {
        // The value is not echoed: someone may have pasted a plaintext token here by mistake.
        return CallerError(index, caller.name,
                           "token_sha256 must be 64 hex digits, the SHA-256 of the token (make it "
                           "with `ota-gateway --hash-token < token-file`), never the token itself");
      }
      caller.token_sha256s.push_back(absl::AsciiStrToLower(value));
    } else {
      return CallerError(index, caller.name,
                         absl::StrCat("unknown identity kind '", kind,
                                      "' (expected mtls_san, mtls_cn or token_sha256)"));
    }
  }
  if (entry.contains("iot_instance_ids")) {
    absl::StatusOr<std::vector<std::string>> ids = StringList(entry["iot_instance_ids"]);
    if (!ids.ok())
      return CallerError(index, caller.name,
                         absl::StrCat("iot_instance_ids ", ids.status().message()));
    caller.iot_instance_ids = *std::move(ids);
  }
  if (entry.contains("rpcs")) {
    absl::StatusOr<std::vector<std::string>> rpcs = StringList(entry["rpcs"]);
    if (!rpcs.ok()) {
      return CallerError(index, caller.name, absl::StrCat("rpcs ", rpcs.status().message()));
    }
    // An empty list would read as "every RPC" (the default): say what is meant instead.
    if (rpcs->empty()) {
      return CallerError(index, caller.name,
                         "rpcs must name at least one of CancelByJob, ListJobsByFirmware (leave "
                         "it out to allow both)");
    }
    for (const std::string& rpc : *rpcs) {
      if (rpc != kCancelByJobRpc && rpc != kListJobsByFirmwareRpc) {
        return CallerError(index, caller.name,
                           absl::StrCat("rpcs: unknown RPC '", rpc.substr(0, 64),
                                        "' (expected CancelByJob or ListJobsByFirmware)"));
      }
    }
    caller.rpcs = *std::move(rpcs);
  }
  for (auto [field, target] :
       {std::pair{"share", &caller.share}, std::pair{"max_queued", &caller.max_queued}}) {
    if (!entry.contains(field)) continue;
    const Json& value = entry[field];
    if (!value.is_number_integer() || value.get<std::int64_t>() < 1 ||
        value.get<std::int64_t>() > kMaxShareOrQueue) {
      return CallerError(
          index, caller.name,
          absl::StrCat("\"", field, "\" must be a whole number from 1 to ", kMaxShareOrQueue));
    }
    *target = static_cast<int>(value.get<std::int64_t>());
  }
  return caller;
}

bool Contains(const std::vector<std::string>& values, absl::string_view wanted) {
  return std::find(values.begin(), values.end(), wanted) != values.end();
}

// The first identity of `caller` the certificate proves, as "kind:value", or "".
std::string CertificateMatch(const CallerAllowList::Caller& caller,
                             const PeerCertificate& certificate) {
  for (const std::vector<std::string>* sans : {&certificate.uri_sans, &certificate.dns_sans}) {
    for (const std::string& san : *sans) {
      if (Contains(caller.mtls_sans, san)) return absl::StrCat("mtls_san:", san);
    }
  }
  const bool has_sans = !certificate.uri_sans.empty() || !certificate.dns_sans.empty();
  if (!has_sans && !certificate.common_name.empty() &&
      Contains(caller.mtls_cns, certificate.common_name)) {
    return absl::StrCat("mtls_cn:", certificate.common_name);
  }
  return "";
}

std::string TokenMatch(const CallerAllowList::Caller& caller, absl::string_view token_hash) {
  for (const std::string& configured : caller.token_sha256s) {
    // Only a prefix of the configured hash is shown: enough to tell tokens apart in a log.
    if (ConstantTimeEquals(token_hash, configured)) {
      return absl::StrCat("token_sha256:", configured.substr(0, 12));
    }
  }
  return "";
}

}  // namespace

AuthDecision UncheckedCaller(const PresentedCredentials& presented) {
  AuthDecision decision;
  if (presented.certificate) {
    decision.identity = absl::StrCat("mtls:", presented.certificate->DisplayName());
  } else {
    decision.identity = "anonymous";
  }
  return decision;
}

absl::StatusOr<CallerAllowList> CallerAllowList::Parse(absl::string_view json_text) {
  Json root = Json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (!root.is_object() || !root.contains("callers") || !root["callers"].is_array()) {
    return absl::InvalidArgumentError("expected an object {\"callers\": [...]}");
  }
  CallerAllowList list;
  std::set<std::string> names;
  std::set<std::string> identities;
  for (std::size_t i = 0; i < root["callers"].size(); ++i) {
    absl::StatusOr<Caller> caller = ParseCaller(root["callers"][i], i);
    if (!caller.ok()) return caller.status();
    if (!names.insert(caller->name).second) {
      return CallerError(i, caller->name, "the name is used by another caller");
    }
    // One identity naming two callers would make the decision depend on the file's order.
    for (const auto& [kind, values] :
         {std::pair{"mtls_san", &caller->mtls_sans}, std::pair{"mtls_cn", &caller->mtls_cns},
          std::pair{"token_sha256", &caller->token_sha256s}}) {
      for (const std::string& value : *values) {
        if (!identities.insert(absl::StrCat(kind, ":", value)).second) {
          return CallerError(i, caller->name,
                             absl::StrCat("a ", kind, " identity is listed twice"));
        }
      }
    }
    list.callers_.push_back(*std::move(caller));
  }
  return list;
}

AuthDecision CallerAllowList::Authorize(const PresentedCredentials& presented,
                                        absl::string_view iot_instance_id,
                                        absl::string_view rpc) const {
  const Caller* matched = nullptr;
  AuthDecision decision;
  // A verified certificate is the stronger proof, so it is looked at first.
  if (presented.certificate) {
    for (const Caller& caller : callers_) {
      if (std::string identity = CertificateMatch(caller, *presented.certificate);
          !identity.empty()) {
        matched = &caller;
        decision.identity = std::move(identity);
        break;
      }
    }
  }
  if (matched == nullptr && presented.bearer_token) {
    const std::string token_hash = Sha256Hex(*presented.bearer_token);
    for (const Caller& caller : callers_) {
      if (std::string identity = TokenMatch(caller, token_hash); !identity.empty()) {
        matched = &caller;
        decision.identity = std::move(identity);
        break;
      }
    }
  }
  if (matched == nullptr) {
    decision.code = absl::StatusCode::kUnauthenticated;
    if (presented.certificate) {
      decision.identity = absl::StrCat("mtls:", presented.certificate->DisplayName());
    } else if (presented.bearer_token) {
      decision.identity = "unknown bearer token";
    } else {
      decision.identity = "anonymous";
    }
    decision.message = absl::StrCat(
        "caller not recognised (", decision.identity,
        presented.malformed_authorization
            ? "; the authorization metadata is not of the form 'Bearer <token>'"
            : "",
        "): present a client certificate or a bearer token listed in ota-gateway's callers file");
    return decision;
  }
  decision.caller = matched->name;
  decision.share = matched->share;
  decision.max_queued = matched->max_queued;
  if (!matched->rpcs.empty() && !Contains(matched->rpcs, rpc)) {
    decision.code = absl::StatusCode::kPermissionDenied;
    decision.message = absl::StrCat("caller '", matched->name, "' may not call ", rpc,
                                    "; ask the gateway's operators to add it to the caller's rpcs "
                                    "in the callers file");
    return decision;
  }
  if (!matched->iot_instance_ids.empty() && !Contains(matched->iot_instance_ids, iot_instance_id)) {
    decision.code = absl::StatusCode::kPermissionDenied;
    decision.message =
        absl::StrCat("caller '", matched->name, "' may not ",
                     rpc == kCancelByJobRpc ? "cancel" : "list", " OTA jobs of ",
                     iot_instance_id.empty()
                         ? std::string("the default IoT instance (empty iot_instance_id)")
                         : absl::StrCat("iot_instance_id '", iot_instance_id.substr(0, 64), "'"),
                     "; ask the gateway's operators to add it to the caller's iot_instance_ids");
  }
  return decision;
}

}  // namespace ota
