// UpstreamReply: what Alibaba's answer to one attempt says, read from the HTTP response.
//
// Alibaba answers an RPC call with JSON: {"RequestId","Success"} on success; on failure either the
// API's own shape {"RequestId","Success":false,"Code","ErrorMessage"} (HTTP 200) or the gateway
// shape {"RequestId","HostId","Code","Message","Recommend"} with a non-2xx status. This parser
// accepts both (and QueryOTAJob's `Data`) and never fails: a body that is not such JSON gives
// `parsed = false` and keeps the HTTP status so the error mapping can report it.
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "server/http/http_message.h"

namespace ota {

struct UpstreamReply {
  int http_status = 0;
  bool parsed = false;   // the body was a JSON object
  bool success = false;  // Success == true and a 2xx status
  std::string request_id;
  std::string code;     // Alibaba's Code, empty on success
  std::string message;  // ErrorMessage or Message
  // QueryOTAJob's answer: Data.JobStatus (PLANNED, IN_PROGRESS, COMPLETED, CANCELED) and
  // Data.SelectionType (STATIC, DYNAMIC), as Alibaba spelled them; empty when absent.
  std::string job_status;
  std::string selection_type;
  // From the `x-acs-retry-after` header (milliseconds), when present and sane.
  std::optional<absl::Duration> retry_after;
};

[[nodiscard]] UpstreamReply ParseUpstreamReply(const HttpResponse& response);

}  // namespace ota
