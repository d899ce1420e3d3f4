#include "server/call/upstream_reply.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"

namespace ota {
namespace {

// Alibaba's throttling hint is a few seconds at most; a larger value is a misbehaving proxy and
// must not park callers for minutes.
constexpr absl::Duration kMaxRetryAfter = absl::Seconds(60);

// The string value of `object[key]`, or empty when absent or not a string.
std::string StringField(const nlohmann::json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// `Success` is a JSON bool in the documented shape, but some Alibaba front ends send it as the
// string "true"/"false" (their XML-to-JSON path). Anything else counts as not successful.
bool SuccessField(const nlohmann::json& object) {
  const auto it = object.find("Success");
  if (it == object.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return absl::EqualsIgnoreCase(it->get<std::string>(), "true");
  return false;
}

std::optional<absl::Duration> RetryAfterHeader(const HttpResponse& response) {
  const std::string_view raw = response.Header("x-acs-retry-after");
  const absl::string_view value =
      absl::StripAsciiWhitespace(absl::string_view(raw.data(), raw.size()));
  if (value.empty()) return std::nullopt;
  std::int64_t millis = 0;
  if (!absl::SimpleAtoi(value, &millis) || millis < 0) return std::nullopt;
  if (millis > absl::ToInt64Milliseconds(kMaxRetryAfter)) return kMaxRetryAfter;
  return absl::Milliseconds(millis);
}

}  // namespace

UpstreamReply ParseUpstreamReply(const HttpResponse& response) {
  UpstreamReply reply;
  reply.http_status = response.status;
  reply.retry_after = RetryAfterHeader(response);

  const nlohmann::json body =
      nlohmann::json::parse(response.body, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return reply;
  reply.parsed = true;

  reply.request_id = StringField(body, "RequestId");
  const bool is_2xx = response.status >= 200 && response.status < 300;
  reply.success = is_2xx && SuccessField(body);
  if (const auto data = body.find("Data"); data != body.end() && data->is_object()) {
    reply.job_status = StringField(*data, "JobStatus");
    reply.selection_type = StringField(*data, "SelectionType");
  }
  if (reply.success) return reply;

  reply.code = StringField(body, "Code");
  // The API shape says ErrorMessage, the gateway shape says Message.
  reply.message = StringField(body, "ErrorMessage");
  if (reply.message.empty()) reply.message = StringField(body, "Message");
  return reply;
}

}  // namespace ota
