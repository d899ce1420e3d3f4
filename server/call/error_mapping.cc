#include "server/call/error_mapping.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "server/base/content_lines.h"
#include "server/http/attempt_stage.h"

namespace ota {
namespace {

// How long to advertise in RetryInfo when Alibaba throttles without saying how long to wait: its
// quota is counted per second, so one second is when a slot is sure to be free again.
constexpr absl::Duration kDefaultThrottleDelay = absl::Seconds(1);

// Alibaba's messages are one short sentence; anything much longer is not worth relaying.
constexpr std::size_t kMaxAlibabaMessageBytes = 400;
// Codes are a few dotted words and RequestIds are UUIDs; a longer one is not Alibaba talking.
constexpr std::size_t kMaxAlibabaIdBytes = 100;

// How one Alibaba Code turns into a CallOutcome. `what` says what happened, `advice` what to do;
// the message reads "<what> (<Code>): <advice>".
struct Rule {
  absl::StatusCode code;
  const char* reason;
  bool retryable;
  const char* what;
  const char* advice;
};

// Codes Alibaba documents (or the emulator answers with) for this API, matched ignoring case
// because Alibaba itself is inconsistent ("Iot.system.BillIsOverDue" beside "iot.system.…").
struct KnownCode {
  const char* code;
  Rule rule;
};

constexpr char kCheckIds[] =
    "check job_id, and iot_instance_id when the batch belongs to an Enterprise Edition instance";
constexpr char kNothingLeftToCancel[] = "there is no update policy left to cancel; do not retry";
constexpr char kNoDynamicPolicy[] =
    "there is no dynamic policy to cancel (only a dynamic batch has one); do not retry";
constexpr char kOperatorCredentials[] =
    "the gateway is misconfigured, not your request; its operator must check the gateway's "
    "credentials";
constexpr char kOperatorClock[] =
    "the gateway is misconfigured, not your request; its operator must sync the gateway host's "
    "clock (NTP)";
constexpr char kRetryLater[] = "retry later with backoff";
constexpr char kRetryAfterDelay[] =
    "the account's quota (10 calls/s, shared by every client of the Alibaba Cloud account) is "
    "used up; retry after the advertised delay";

constexpr std::array kKnownCodes = {
    // The job and the instance.
    KnownCode{"iot.ota.OtaJobNotExist",
              {absl::StatusCode::kNotFound, "JOB_NOT_FOUND", false,
               "the OTA update batch does not exist", kCheckIds}},
    KnownCode{"iot.ota.OtaJobTypeNotSupported",
              {absl::StatusCode::kFailedPrecondition, "JOB_NOT_CANCELLABLE", false,
               "the OTA update batch is static", kNoDynamicPolicy}},
    KnownCode{"iot.ota.OtaJobStatusNotSupported",
              {absl::StatusCode::kFailedPrecondition, "JOB_NOT_CANCELLABLE", false,
               "the OTA update batch is already finished or cancelled", kNothingLeftToCancel}},
    KnownCode{"iot.system.InstanceNotFound",
              {absl::StatusCode::kNotFound, "INSTANCE_NOT_FOUND", false,
               "the IoT Platform instance does not exist in the gateway's Alibaba Cloud account",
               "check iot_instance_id, or leave it empty for the public instance"}},
    KnownCode{"iot.Sre.IotInstanceNotFound",
              {absl::StatusCode::kNotFound, "INSTANCE_NOT_FOUND", false,
               "the IoT Platform instance does not exist in the gateway's Alibaba Cloud account",
               "check iot_instance_id, or leave it empty for the public instance"}},
    KnownCode{"iot.system.IllegalRequest",
              {absl::StatusCode::kInvalidArgument, "INVALID_REQUEST", false,
               "Alibaba rejected a request parameter", kCheckIds}},
    KnownCode{"MissingParameter",
              {absl::StatusCode::kInvalidArgument, "INVALID_REQUEST", false,
               "Alibaba reports a required parameter missing", kCheckIds}},
    // The account. UidNotFound is FAILED_PRECONDITION rather than PERMISSION_DENIED: no grant
    // would help, the account itself must first activate IoT Platform (and callers must not read
    // it as "you are not allowed").
    KnownCode{"iot.system.UidNotFound",
              {absl::StatusCode::kFailedPrecondition, "IOT_NOT_ACTIVATED", false,
               "the gateway's Alibaba Cloud account has not activated IoT Platform",
               "the gateway's operator must activate IoT Platform or configure credentials of "
               "the account that owns the batch; do not retry until then"}},
    KnownCode{"Iot.system.BillIsOverDue",
              {absl::StatusCode::kFailedPrecondition, "ACCOUNT_OVERDUE", false,
               "the gateway's Alibaba Cloud account has an overdue bill",
               "the account owner must settle it; do not retry until then"}},
    // Transient trouble on Alibaba's side.
    KnownCode{"iot.system.SystemException",
              {absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", true,
               "IoT Platform had a system error", kRetryLater}},
    KnownCode{"InternalError",
              {absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", true,
               "Alibaba Cloud had an internal error", kRetryLater}},
    KnownCode{"ServiceUnavailable",
              {absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", true,
               "Alibaba Cloud is temporarily unavailable", kRetryLater}},
    // Flow control.
    KnownCode{"Throttling",
              {absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
               "Alibaba throttled the call", kRetryAfterDelay}},
    KnownCode{"Throttling.User",
              {absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
               "Alibaba throttled the call", kRetryAfterDelay}},
    KnownCode{"Throttling.Api",
              {absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
               "Alibaba throttled the call", kRetryAfterDelay}},
    // The gateway's own credentials, signature and clock: INTERNAL, because the caller can do
    // nothing about them and must not be told its request was wrong.
    KnownCode{"InvalidAccessKeyId.NotFound",
              {absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED", false,
               "the gateway's AccessKey was rejected by Alibaba", kOperatorCredentials}},
    KnownCode{"InvalidAccessKeyId.Inactive",
              {absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED", false,
               "the gateway's AccessKey is disabled", kOperatorCredentials}},
    KnownCode{"SignatureDoesNotMatch",
              {absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED", false,
               "Alibaba could not verify the gateway's request signature",
               "the gateway is misconfigured, not your request; its operator must check the "
               "gateway's AccessKey secret and that no proxy alters its requests"}},
    KnownCode{"IncompleteSignature",
              {absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED", false,
               "Alibaba found the gateway's request signature incomplete", kOperatorCredentials}},
    KnownCode{"SignatureNonceUsed",
              {absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED", false,
               "Alibaba saw the gateway's SignatureNonce before (a replayed request)",
               "the gateway is at fault, not your request; report it to its operator"}},
    KnownCode{
        "InvalidTimeStamp.Expired",
        {absl::StatusCode::kInternal, "UPSTREAM_CLOCK_SKEW", false,
         "the gateway's clock differs from Alibaba's by more than 15 minutes", kOperatorClock}},
    KnownCode{"IllegalTimestamp",
              {absl::StatusCode::kInternal, "UPSTREAM_CLOCK_SKEW", false,
               "Alibaba rejected the gateway's request timestamp", kOperatorClock}},
    KnownCode{"Forbidden.RAM",
              {absl::StatusCode::kPermissionDenied, "UPSTREAM_PERMISSION_DENIED", false,
               "the gateway's RAM user may not call CancelOTAStrategyByJob",
               "the gateway's operator must grant it iot:CancelOTAStrategyByJob; this is not "
               "about your own permissions"}},
};

// Rules for codes outside the table, by family. Used by the category match and for overrides.
constexpr Rule kThrottled = {absl::StatusCode::kResourceExhausted, "RATE_LIMITED", true,
                             "Alibaba throttled the call", kRetryAfterDelay};
constexpr Rule kAuthFailed = {absl::StatusCode::kInternal, "UPSTREAM_AUTH_FAILED", false,
                              "Alibaba rejected the gateway's credentials or signature",
                              kOperatorCredentials};
constexpr Rule kClockSkew = {absl::StatusCode::kInternal, "UPSTREAM_CLOCK_SKEW", false,
                             "Alibaba rejected the gateway's request timestamp", kOperatorClock};
constexpr Rule kForbidden = {
    absl::StatusCode::kPermissionDenied, "UPSTREAM_PERMISSION_DENIED", false,
    "Alibaba denied the gateway's RAM user this call",
    "the gateway's operator must grant it the missing permission; this is not about your own "
    "permissions"};
constexpr Rule kUnavailable = {absl::StatusCode::kUnavailable, "UPSTREAM_UNAVAILABLE", true,
                               "Alibaba Cloud is temporarily unavailable", kRetryLater};
constexpr Rule kJobNotFound = {absl::StatusCode::kNotFound, "JOB_NOT_FOUND", false,
                               "Alibaba reports that the OTA update batch does not exist",
                               kCheckIds};
constexpr Rule kInstanceNotFound = {
    absl::StatusCode::kNotFound, "INSTANCE_NOT_FOUND", false,
    "Alibaba reports that the IoT Platform instance does not exist",
    "check iot_instance_id, or leave it empty for the public instance"};
constexpr Rule kNotFound = {absl::StatusCode::kNotFound, "RESOURCE_NOT_FOUND", false,
                            "Alibaba reports that something the request names does not exist",
                            kCheckIds};
constexpr Rule kInvalid = {absl::StatusCode::kInvalidArgument, "INVALID_REQUEST", false,
                           "Alibaba rejected the request's parameters", kCheckIds};
// An explicit refusal we have no rule for. FAILED_PRECONDITION rather than UNKNOWN or INTERNAL:
// Alibaba did answer, definitely and not transiently (most undocumented OTA codes are "the batch
// is not in a state that allows this"), so the caller learns "do not retry unchanged; read the
// Code in the details" instead of "something broke".
constexpr Rule kRejected = {absl::StatusCode::kFailedPrecondition, "UPSTREAM_REJECTED", false,
                            "Alibaba refused the call",
                            "do not retry it unchanged; see Alibaba's code and message"};
constexpr Rule kOtherError = {absl::StatusCode::kInternal, "UPSTREAM_ERROR", false,
                              "Alibaba refused the call",
                              "see Alibaba's code and message, or ask the gateway's operator"};

bool StartsWithAny(absl::string_view text, std::initializer_list<absl::string_view> prefixes) {
  for (absl::string_view prefix : prefixes) {
    if (absl::StartsWith(text, prefix)) return true;
  }
  return false;
}

// The family rule for a code outside the table. `lower` is the lower-cased code; families are
// recognised by the start of any dot-separated segment ("iot.ota.InvalidJobId",
// "Throttling.User") or, for not-found, anywhere ("iot.ota.OtaJobNotExist"). Order matters:
// "InvalidAccessKeyId.NotFound" is a credentials problem before it is a not-found or an invalid.
std::optional<Rule> CategoryRule(absl::string_view lower) {
  const std::vector<absl::string_view> segments = absl::StrSplit(lower, '.');
  auto any_segment = [&](std::initializer_list<absl::string_view> prefixes) {
    for (absl::string_view segment : segments) {
      if (StartsWithAny(segment, prefixes)) return true;
    }
    return false;
  };
  if (any_segment({"throttling"})) return kThrottled;
  if (any_segment({"invalidtimestamp", "illegaltimestamp"})) return kClockSkew;
  if (any_segment({"invalidaccesskeyid", "invalidsecuritytoken", "signaturedoesnotmatch",
                   "incompletesignature", "signaturenonceused"})) {
    return kAuthFailed;
  }
  if (any_segment({"forbidden"})) return kForbidden;
  if (any_segment({"systemexception", "internalerror", "serviceunavailable"})) return kUnavailable;
  if (absl::StrContains(lower, "notfound") || absl::StrContains(lower, "notexist")) {
    if (absl::StrContains(lower, "instance")) return kInstanceNotFound;
    if (absl::StrContains(lower, "job")) return kJobNotFound;
    return kNotFound;
  }
  if (any_segment({"invalid", "illegal", "missing"})) return kInvalid;
  return std::nullopt;
}

// For an override: the table's rule when it agrees on the gRPC code (keeping its wording),
// else the family rule for that gRPC code.
Rule RuleForOverride(absl::string_view lower, absl::StatusCode code) {
  for (const KnownCode& known : kKnownCodes) {
    if (absl::EqualsIgnoreCase(known.code, lower) && known.rule.code == code) return known.rule;
  }
  if (const std::optional<Rule> category = CategoryRule(lower);
      category.has_value() && category->code == code) {
    return *category;
  }
  switch (code) {
    case absl::StatusCode::kResourceExhausted:
      return kThrottled;
    case absl::StatusCode::kUnavailable:
      return kUnavailable;
    case absl::StatusCode::kNotFound:
      return kNotFound;
    case absl::StatusCode::kInvalidArgument:
      return kInvalid;
    case absl::StatusCode::kPermissionDenied:
      return kForbidden;
    case absl::StatusCode::kFailedPrecondition:
      return kRejected;
    default: {
      Rule rule = kOtherError;
      rule.code = code;
      return rule;
    }
  }
}

// Alibaba's message, made safe to relay: SignatureDoesNotMatch messages end with the server's
// string-to-sign, which carries our AccessKeyId and request; control characters would break
// one-line logs; and a runaway body must not become a runaway message.
std::string SanitizeAlibabaMessage(absl::string_view message) {
  const std::string lower = absl::AsciiStrToLower(message);
  for (const char* marker : {"server string to sign", "stringtosign", "string to sign"}) {
    if (const std::size_t at = lower.find(marker); at != std::string::npos) {
      message = message.substr(0, at);
    }
  }
  bool truncated = false;
  if (message.size() > kMaxAlibabaMessageBytes) {
    std::size_t cut = kMaxAlibabaMessageBytes;
    // Never split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message = message.substr(0, cut);
    truncated = true;
  }
  std::string out;
  out.reserve(message.size() + 3);
  for (char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte < 0x20 || byte == 0x7F ? ' ' : c);
  }
  // What is left before a cut string-to-sign often ends in "... is:" or similar.
  while (!out.empty() && (absl::ascii_isspace(static_cast<unsigned char>(out.back())) ||
                          out.back() == ':' || out.back() == ',')) {
    out.pop_back();
  }
  if (truncated) out += "...";
  return out;
}

// A Code or RequestId as the caller-facing message shows it: on one line (control characters
// become spaces) and bounded, cut between UTF-8 characters. The details keep the original.
std::string ShownAlibabaId(absl::string_view id) {
  bool truncated = false;
  if (id.size() > kMaxAlibabaIdBytes) {
    std::size_t cut = kMaxAlibabaIdBytes;
    while (cut > 0 && (static_cast<unsigned char>(id[cut]) & 0xC0) == 0x80) --cut;
    id = id.substr(0, cut);
    truncated = true;
  }
  std::string out;
  out.reserve(id.size() + 3);
  for (char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte < 0x20 || byte == 0x7F ? ' ' : c);
  }
  if (truncated) out += "...";
  return out;
}

// Removes query strings (which carry AccessKeyId, SecurityToken and Signature) from a transport
// error message, and any stray "name=value" token naming one of those parameters.
std::string StripQueryStrings(absl::string_view message) {
  auto is_token_end = [](char c) {
    return absl::ascii_isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' ||
           c == '<' || c == '>' || c == ')' || c == ']';
  };
  std::string out;
  out.reserve(message.size());
  std::size_t i = 0;
  while (i < message.size()) {
    std::size_t end = i;
    while (end < message.size() && !is_token_end(message[end])) ++end;
    absl::string_view token = message.substr(i, end - i);
    const std::string lower = absl::AsciiStrToLower(token);
    if (const std::size_t q = token.find('?');
        q != absl::string_view::npos && token.find('=', q) != absl::string_view::npos) {
      absl::StrAppend(&out, token.substr(0, q), "?<query omitted>");
    } else if (absl::StrContains(lower, "accesskeyid=") || absl::StrContains(lower, "signature=") ||
               absl::StrContains(lower, "securitytoken=")) {
      out += "<omitted>";
    } else {
      absl::StrAppend(&out, token);
    }
    if (end < message.size()) out.push_back(message[end]);
    i = end + 1;
  }
  return out;
}

// Copies Alibaba's complaint into BadRequest field violations when it names one of our fields.
void AddFieldViolations(const std::string& alibaba_message, CallOutcome& outcome) {
  const std::string lower = absl::AsciiStrToLower(alibaba_message);
  if (absl::StrContains(lower, "iotinstanceid")) {
    outcome.field_violations["iot_instance_id"] = alibaba_message;
  }
  if (absl::StrContains(lower, "jobid")) {
    outcome.field_violations["job_id"] = alibaba_message;
  }
}

CallOutcome BadResponse(const UpstreamReply& reply, absl::string_view problem) {
  CallOutcome outcome;
  outcome.domain = kGatewayDomain;
  outcome.reason = "UPSTREAM_BAD_RESPONSE";
  outcome.http_status = reply.http_status;
  outcome.request_id = reply.request_id;
  const bool server_error = reply.http_status >= 500 && reply.http_status < 600;
  if (server_error) {
    // A proxy or load balancer in front of Alibaba failing: transient, worth retrying.
    outcome.code = absl::StatusCode::kUnavailable;
    outcome.retryable = true;
    outcome.retry_after = reply.retry_after;
    outcome.message = absl::StrCat("Alibaba's endpoint answered HTTP ", reply.http_status, " with ",
                                   problem, ": ", kRetryLater);
  } else {
    // A 2xx/4xx that is not an API answer means the endpoint is not Alibaba's API (a captive
    // proxy, a wrong --endpoint): retrying will not change it.
    outcome.code = absl::StatusCode::kInternal;
    outcome.message =
        absl::StrCat("Alibaba's endpoint answered HTTP ", reply.http_status, " with ", problem,
                     ": the gateway's operator should check its endpoint setting and any proxy "
                     "in between");
  }
  return outcome;
}

// gRPC code names accepted by the override file (every code but OK, which would turn a failure
// into a success).
std::optional<absl::StatusCode> ParseStatusCodeName(absl::string_view name) {
  for (int i = 1; i <= static_cast<int>(absl::StatusCode::kUnauthenticated); ++i) {
    const auto code = static_cast<absl::StatusCode>(i);
    if (absl::StatusCodeToString(code) == name) return code;
  }
  return std::nullopt;
}

}  // namespace

absl::StatusOr<ErrorMapper> ErrorMapper::WithOverrides(std::string_view text) {
  ErrorMapper mapper;
  std::map<std::string, int, std::less<>> first_line;
  for (const ContentLine& content : ContentLines(absl::string_view(text.data(), text.size()))) {
    const int line_number = content.number;
    const absl::string_view line = content.text;
    const std::pair<absl::string_view, absl::string_view> parts =
        absl::StrSplit(line, absl::MaxSplits('=', 1));
    const absl::string_view alibaba_code = absl::StripAsciiWhitespace(parts.first);
    const std::string grpc_name = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(parts.second));
    if (line.find('=') == absl::string_view::npos || alibaba_code.empty() || grpc_name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("error map line ", line_number,
                                                     ": expected \"AlibabaCode=GRPC_CODE\", got \"",
                                                     line, "\""));
    }
    if (std::any_of(alibaba_code.begin(), alibaba_code.end(),
                    [](char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); })) {
      return absl::InvalidArgumentError(absl::StrCat("error map line ", line_number,
                                                     ": Alibaba code \"", alibaba_code,
                                                     "\" contains a space"));
    }
    if (grpc_name == "OK") {
      return absl::InvalidArgumentError(
          absl::StrCat("error map line ", line_number, ": \"", alibaba_code,
                       "\" cannot map to OK (a failed call must not be reported as a success)"));
    }
    const std::optional<absl::StatusCode> code = ParseStatusCodeName(grpc_name);
    if (!code.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("error map line ", line_number, ": unknown gRPC code \"", grpc_name,
                       "\" (use a name such as NOT_FOUND, INVALID_ARGUMENT, FAILED_PRECONDITION)"));
    }
    std::string key = absl::AsciiStrToLower(alibaba_code);
    if (const auto seen = first_line.find(key); seen != first_line.end()) {
      return absl::InvalidArgumentError(absl::StrCat("error map line ", line_number, ": \"",
                                                     alibaba_code, "\" is already mapped on line ",
                                                     seen->second));
    }
    first_line.emplace(key, line_number);
    mapper.overrides_.emplace(std::move(key), *code);
  }
  return mapper;
}

CallOutcome ErrorMapper::FromReply(const UpstreamReply& reply) const {
  if (reply.success) {
    CallOutcome outcome;
    outcome.request_id = reply.request_id;
    outcome.http_status = reply.http_status;
    return outcome;
  }
  if (!reply.parsed) return BadResponse(reply, "a body that is not JSON");
  if (reply.code.empty())
    return BadResponse(reply, "JSON that has neither Success=true nor a Code");

  const std::string lower = absl::AsciiStrToLower(reply.code);
  std::optional<Rule> rule;
  if (const auto it = overrides_.find(lower); it != overrides_.end()) {
    rule = RuleForOverride(lower, it->second);
  }
  for (const KnownCode& known : kKnownCodes) {
    if (rule.has_value()) break;
    if (absl::EqualsIgnoreCase(known.code, lower)) rule = known.rule;
  }
  if (!rule.has_value()) rule = CategoryRule(lower);
  if (!rule.has_value()) {
    if (reply.http_status >= 500) {
      rule = kUnavailable;
    } else if (reply.http_status == 429) {
      rule = kThrottled;
    } else {
      rule = kRejected;
    }
  }

  CallOutcome outcome;
  outcome.code = rule->code;
  outcome.reason = rule->reason;
  outcome.domain = kAlibabaDomain;
  outcome.request_id = reply.request_id;
  outcome.alibaba_code = reply.code;
  outcome.http_status = reply.http_status;
  outcome.retryable = rule->retryable;
  if (outcome.code == absl::StatusCode::kResourceExhausted) {
    outcome.retry_after = reply.retry_after.value_or(kDefaultThrottleDelay);
  } else if (outcome.retryable) {
    outcome.retry_after = reply.retry_after;
  }

  const std::string alibaba_message = SanitizeAlibabaMessage(reply.message);
  outcome.message = absl::StrCat(rule->what, " (", ShownAlibabaId(reply.code), "): ", rule->advice);
  if (!alibaba_message.empty() || !reply.request_id.empty()) {
    absl::StrAppend(&outcome.message, " [Alibaba:");
    if (!alibaba_message.empty()) absl::StrAppend(&outcome.message, " \"", alibaba_message, "\"");
    if (!reply.request_id.empty()) {
      absl::StrAppend(&outcome.message, alibaba_message.empty() ? " " : ", ", "RequestId ",
                      ShownAlibabaId(reply.request_id));
    }
    absl::StrAppend(&outcome.message, "]");
  }
  if (outcome.code == absl::StatusCode::kInvalidArgument) {
    AddFieldViolations(alibaba_message, outcome);
  }
  return outcome;
}

std::vector<std::string_view> KnownAlibabaCodes() {
  std::vector<std::string_view> codes;
  codes.reserve(kKnownCodes.size());
  for (const KnownCode& known : kKnownCodes) codes.emplace_back(known.code);
  return codes;
}

CallOutcome ErrorMapper::FromTransportError(const absl::Status& status) const {
  CallOutcome outcome;
  outcome.domain = kGatewayDomain;
  const std::string detail = StripQueryStrings(status.message());
  const bool sent = AttemptStageOf(status) == AttemptStage::kSentWithoutAnswer;
  switch (status.code()) {
    case absl::StatusCode::kOk:
      // A transport must not fail with OK; report the bug rather than claim a success.
      outcome.code = absl::StatusCode::kInternal;
      outcome.reason = "GATEWAY_INTERNAL_ERROR";
      outcome.message = "the upstream transport failed without saying why";
      return outcome;
    case absl::StatusCode::kCancelled:
      outcome.code = absl::StatusCode::kCancelled;
      outcome.reason = "UPSTREAM_CALL_CANCELLED";
      outcome.message = absl::StrCat("the upstream call was cancelled (", detail, ")");
      return outcome;
    default:
      break;
  }
  if (sent) {
    // The request left: Alibaba may have applied it. Sending it again is safe (a cancelled policy
    // cannot be cancelled twice), and the call path asks QueryOTAJob before it answers.
    outcome.code = absl::StatusCode::kUnavailable;
    outcome.reason = "UPSTREAM_UNAVAILABLE";
    outcome.retryable = true;
    outcome.message = absl::StrCat(
        "the request was sent to Alibaba but no complete answer came back (", detail, ")");
    return outcome;
  }
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    // Not retryable here: the deadline is the caller's, and it has run out.
    outcome.code = absl::StatusCode::kDeadlineExceeded;
    outcome.reason = "UPSTREAM_TIMEOUT";
    outcome.message =
        absl::StrCat("the deadline passed before the request could be sent to Alibaba (", detail,
                     "): nothing was applied; call again with a longer deadline");
    return outcome;
  }
  // DNS, connect, TLS: the request never left, and another attempt (on a fresh connection) may
  // well succeed.
  outcome.code = absl::StatusCode::kUnavailable;
  outcome.reason = "UPSTREAM_UNREACHABLE";
  outcome.retryable = true;
  outcome.message = absl::StrCat("could not reach Alibaba's endpoint (", detail,
                                 "); the request was never sent: ", kRetryLater);
  return outcome;
}

}  // namespace ota
