// HttpTransport: sends one HTTP request asynchronously.
//
// Production uses CurlTransport (libcurl multi interface, one event loop thread, keep-alive
// connection reuse, TLS verification). Tests use fakes that answer from a table.
#pragma once

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/http/http_message.h"

namespace ota {

class HttpTransport {
 public:
  using Callback = absl::AnyInvocable<void(absl::StatusOr<HttpResponse>)>;
  virtual ~HttpTransport() = default;

  // Sends `request`; `done` runs exactly once, on the transport's thread, with the response or an
  // error: DEADLINE_EXCEEDED when `deadline` passed first, UNAVAILABLE for connection, TLS or
  // protocol failures (the message says which, and never contains the URL's query string, which
  // carries the AccessKeyId and signature).
  virtual void Send(HttpRequest request, absl::Time deadline, Callback done) = 0;
};

}  // namespace ota
