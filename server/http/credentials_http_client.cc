#include "server/http/credentials_http_client.h"

#include <curl/curl.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ota {
namespace {

void InitCurlOnce() {
  // curl_global_init is reference counted but not thread-safe; a function-local static runs it
  // exactly once, at start-up, before the refresh thread exists.
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInit != CURLE_OK) {
    std::fprintf(stderr, "curl_global_init failed: %s\n", curl_easy_strerror(kInit));
    std::abort();
  }
}

struct ReplyBuffer {
  HttpResponse response;
  std::size_t max_bytes = 0;
  bool too_big = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<ReplyBuffer*>(user);
  const std::size_t bytes = size * count;
  if (reply->response.body.size() + bytes > reply->max_bytes) {
    reply->too_big = true;
    return 0;  // makes curl abort the transfer
  }
  reply->response.body.append(data, bytes);
  return bytes;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<ReplyBuffer*>(user);
  const std::size_t bytes = size * count;
  const std::string line(data, bytes);
  const std::size_t colon = line.find(':');
  if (colon != std::string::npos) {
    reply->response.headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return bytes;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

std::string UrlForMessages(const std::string& url) { return url.substr(0, url.find('?')); }

CurlCredentialsHttpClient::CurlCredentialsHttpClient(CredentialsHttpOptions options)
    : options_(std::move(options)) {
  InitCurlOnce();
}

absl::StatusOr<HttpResponse> CurlCredentialsHttpClient::Send(const HttpRequest& request) {
  const std::string what = absl::StrCat(request.method, " ", UrlForMessages(request.url));
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) return absl::InternalError(absl::StrCat(what, ": curl_easy_init failed"));
  CURL* h = curl.get();

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [name, value] : request.headers) {
    if (name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      return absl::InternalError(absl::StrCat(what, ": header ", name, " is malformed"));
    }
    const std::string line = absl::StrCat(name, ": ", value);
    curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
    if (appended == nullptr) return absl::InternalError(absl::StrCat(what, ": out of memory"));
    (void)headers.release();
    headers.reset(appended);
  }
  // curl adds "Expect: 100-continue" to bodies over 1 KiB; the metadata service and STS need none.
  curl_slist* no_expect = curl_slist_append(headers.get(), "Expect:");
  if (no_expect == nullptr) return absl::InternalError(absl::StrCat(what, ": out of memory"));
  (void)headers.release();
  headers.reset(no_expect);

  ReplyBuffer reply{.response = {}, .max_bytes = options_.max_response_bytes, .too_big = false};
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads + signals crash; timeouts without SIGALRM
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.total_timeout)));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &reply);
  if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.c_str());
    if (request.method == "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    return absl::InternalError(absl::StrCat(what, ": unsupported method"));
  }

  const CURLcode code = curl_easy_perform(h);
  if (reply.too_big) {
    return absl::UnavailableError(
        absl::StrCat(what, ": reply larger than ", options_.max_response_bytes, " bytes"));
  }
  if (code != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(what, ": ", curl_easy_strerror(code)));
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  reply.response.status = static_cast<int>(status);
  return std::move(reply.response);
}

}  // namespace ota
