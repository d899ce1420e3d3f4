// The libcurl plumbing both of the gateway's HTTP clients share (CurlTransport for Alibaba's API,
// CurlCredentialsHttpClient for STS and the ECS metadata service), written once so they cannot
// drift: the process-wide init, checked request headers, the options every request gets
// (http(s) only, no redirects, TLS always verified, timeouts, no signals) and the reply read the
// same way (body size cap; a 1xx interim reply's headers dropped; folded header lines joined).
//
//   ota::InitCurlOnce();
//   absl::StatusOr<ota::CurlHeaderList> headers = ota::BuildCurlHeaders(request, /*exact=*/true);
//   ota::CurlReply reply{.max_body = 1 << 20};
//   CURLcode rc = ota::ConfigureCurlRequest(easy, request, headers->get(), options, &reply);
//   ... curl_easy_perform(easy) or the multi interface ...
//   reply.response.status = <CURLINFO_RESPONSE_CODE>;
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/http/http_message.h"

namespace ota {

// curl_global_init, exactly once per process, before the first handle; aborts if curl cannot
// start (nothing could be sent).
void InitCurlOnce();

// INVALID_ARGUMENT unless every header name is an RFC 9110 token and no value holds CR, LF or NUL
// (either would let a header smuggle another into the request), and the method is GET, POST or
// PUT (GET without a body).
[[nodiscard]] absl::Status CheckCurlRequest(const HttpRequest& request);

struct CurlSlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHeaderList = std::unique_ptr<curl_slist, CurlSlistFree>;

// The request's headers for CURLOPT_HTTPHEADER ("Name;" sends an empty value). curl's "Expect:
// 100-continue" is always switched off (no server of ours wants it); with `exact`, so are its
// default Accept and, for POST, Content-Type unless the request sets them, so that what is sent is
// exactly what was signed.
[[nodiscard]] absl::StatusOr<CurlHeaderList> BuildCurlHeaders(const HttpRequest& request,
                                                              bool exact);

// The reply as curl delivers it (CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION targets). The
// status is not set here: read CURLINFO_RESPONSE_CODE once the transfer is done.
struct CurlReply {
  std::size_t max_body = std::size_t{1} << 20;  // a bigger body aborts the transfer
  HttpResponse response = {};
  bool body_too_large = false;
};

struct CurlRequestOptions {
  absl::Duration connect_timeout = absl::Seconds(3);
  std::int64_t total_timeout_ms = 10'000;  // whole transfer; must be > 0
  std::string ca_file = {};                // PEM bundle instead of the system store; empty: system
};

// Sets URL, method and body (not copied: `request` must outlive the transfer), `headers`, the
// options above and `reply` as the callbacks' target. Returns the first failure.
[[nodiscard]] CURLcode ConfigureCurlRequest(CURL* easy, const HttpRequest& request,
                                            curl_slist* headers, const CurlRequestOptions& options,
                                            CurlReply* reply);

}  // namespace ota
