#include "server/http/credentials_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/base/url_redaction.h"
#include "server/http/curl_easy.h"

namespace ota {
namespace {

struct CurlFree {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

}  // namespace

CurlCredentialsHttpClient::CurlCredentialsHttpClient(CredentialsHttpOptions options)
    : options_(std::move(options)) {
  InitCurlOnce();
}

absl::StatusOr<HttpResponse> CurlCredentialsHttpClient::Send(const HttpRequest& request) {
  const std::string what = absl::StrCat(request.method, " ", RedactedUrl(request.url));
  if (absl::Status valid = CheckCurlRequest(request); !valid.ok()) {
    return absl::InternalError(absl::StrCat(what, ": ", valid.message()));
  }
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError(absl::StrCat(what, ": curl_easy_init failed"));
  absl::StatusOr<CurlHeaderList> headers = BuildCurlHeaders(request, /*exact=*/false);
  if (!headers.ok())
    return absl::InternalError(absl::StrCat(what, ": ", headers.status().message()));
  CurlReply reply{.max_body = options_.max_response_bytes, .response = {}, .body_too_large = false};
  const CURLcode configured =
      ConfigureCurlRequest(curl.get(), request, headers->get(),
                           {.connect_timeout = options_.connect_timeout,
                            .total_timeout_ms = std::max<std::int64_t>(
                                1, absl::ToInt64Milliseconds(options_.total_timeout)),
                            .ca_file = options_.ca_file},
                           &reply);
  if (configured != CURLE_OK) {
    return absl::InternalError(absl::StrCat(what, ": ", curl_easy_strerror(configured)));
  }

  const CURLcode code = curl_easy_perform(curl.get());
  if (reply.body_too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return absl::UnavailableError(
        absl::StrCat(what, ": reply larger than ", options_.max_response_bytes, " bytes"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(what, ": ", curl_easy_strerror(code)));
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  reply.response.status = static_cast<int>(status);
  return std::move(reply.response);
}

}  // namespace ota
