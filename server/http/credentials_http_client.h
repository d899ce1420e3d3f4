// CredentialsHttpClient: the blocking HTTP seam through which credential providers reach STS and
// the ECS metadata service.
//
// Credential fetches are rare (once per credential lifetime) and run on the refresh thread, never
// on a call's path, so a plain blocking client is the simple, right tool; the seam lets provider
// tests use a fake, and CurlCredentialsHttpClient is the real thing.
//
//   auto http = std::make_shared<ota::CurlCredentialsHttpClient>(
//       ota::CredentialsHttpOptions{.total_timeout = absl::Seconds(5)});
//   absl::StatusOr<ota::HttpResponse> reply =
//       http->Send({.method = "PUT", .url = "http://100.100.100.200/latest/api/token",
//                   .headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "21600"}}, .body =
//                   ""});
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/http/http_message.h"

namespace ota {

class CredentialsHttpClient {
 public:
  virtual ~CredentialsHttpClient() = default;
  // Sends one request and waits for the whole reply. Any HTTP status is a reply, not an error.
  // Errors: UNAVAILABLE when the server cannot be reached or does not answer in time, INTERNAL for
  // an unusable request. Messages name the method and the URL without its query string, never the
  // request body or headers (they carry tokens).
  [[nodiscard]] virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct CredentialsHttpOptions {
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration total_timeout = absl::Seconds(5);
  // PEM CA bundle for https:// (a private CA in front of STS); empty = the system store.
  // Verification of the peer and its host name is always on.
  std::string ca_file = {};
  std::size_t max_response_bytes = std::size_t{64} << 10;
};

// libcurl, one easy handle per request: safe to call from any thread.
class CurlCredentialsHttpClient final : public CredentialsHttpClient {
 public:
  explicit CurlCredentialsHttpClient(CredentialsHttpOptions options);
  [[nodiscard]] absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  CredentialsHttpOptions options_;
};

}  // namespace ota
