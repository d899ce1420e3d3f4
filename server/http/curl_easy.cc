#include "server/http/curl_easy.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace ota {
namespace {

// RFC 9110 token characters: anything else in a header name would corrupt the request.
bool IsValidHeaderName(absl::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
  });
}

bool IsValidHeaderValue(absl::string_view value) {
  return value.find_first_of(absl::string_view("\r\n\0", 3)) == absl::string_view::npos;
}

absl::Status Append(CurlHeaderList& list, const std::string& line) {
  curl_slist* appended = curl_slist_append(list.get(), line.c_str());
  if (appended == nullptr) return absl::ResourceExhaustedError("out of memory building headers");
  (void)list.release();  // curl_slist_append returned the same list, now one longer
  list.reset(appended);
  return absl::OkStatus();
}

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<CurlReply*>(user);
  const std::size_t bytes = size * count;
  if (reply->response.body.size() + bytes > reply->max_body) {
    reply->body_too_large = true;
    return 0;  // anything but `bytes` aborts the transfer with CURLE_WRITE_ERROR
  }
  reply->response.body.append(data, bytes);
  return bytes;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* reply = static_cast<CurlReply*>(user);
  const std::size_t bytes = size * count;
  absl::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  HeaderList& headers = reply->response.headers;
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line: an interim (1xx) response's headers must not leak into the final one.
    headers.clear();
    return bytes;
  }
  if (line.empty()) return bytes;
  if ((line.front() == ' ' || line.front() == '\t') && !headers.empty()) {
    // Obsolete line folding: the line continues the previous header's value.
    absl::StrAppend(&headers.back().second, " ", absl::StripAsciiWhitespace(line));
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return bytes;
  headers.emplace_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, colon))),
                       std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return bytes;
}

}  // namespace

void InitCurlOnce() {
  // curl_global_init is not thread-safe on its own; a function-local static makes the first
  // client do it exactly once for the whole process, before any thread of ours uses curl.
  static const CURLcode kInit = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (kInit != CURLE_OK) {
    std::fprintf(stderr, "curl_global_init failed: %s\n", curl_easy_strerror(kInit));
    std::abort();
  }
}

absl::Status CheckCurlRequest(const HttpRequest& request) {
  if (request.method != "POST" && request.method != "GET" && request.method != "PUT") {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported HTTP method '", request.method, "'"));
  }
  if (request.method == "GET" && !request.body.empty()) {
    return absl::InvalidArgumentError("a GET request cannot carry a body");
  }
  for (const auto& [name, value] : request.headers) {
    if (!IsValidHeaderName(name) || !IsValidHeaderValue(value)) {
      return absl::InvalidArgumentError("request header with an invalid name or value");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<CurlHeaderList> BuildCurlHeaders(const HttpRequest& request, bool exact) {
  CurlHeaderList list;
  bool has_accept = false;
  bool has_expect = false;
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    has_accept |= absl::EqualsIgnoreCase(name, "accept");
    has_expect |= absl::EqualsIgnoreCase(name, "expect");
    has_content_type |= absl::EqualsIgnoreCase(name, "content-type");
    if (absl::Status appended =
            Append(list, value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value));
        !appended.ok()) {
      return appended;
    }
  }
  // "Name:" removes a header curl would add by itself.
  std::vector<const char*> suppressed;
  if (!has_expect) suppressed.push_back("Expect:");
  if (exact && !has_accept) suppressed.push_back("Accept:");
  if (exact && !has_content_type && request.method == "POST") suppressed.push_back("Content-Type:");
  for (const char* line : suppressed) {
    if (absl::Status appended = Append(list, line); !appended.ok()) return appended;
  }
  return list;
}

CURLcode ConfigureCurlRequest(CURL* easy, const HttpRequest& request, curl_slist* headers,
                              const CurlRequestOptions& options, CurlReply* reply) {
  CURLcode rc = CURLE_OK;
  // Keeps the first failure; curl_easy_setopt stays a direct call so curl's type checks apply.
  auto check = [&rc](CURLcode result) {
    if (rc == CURLE_OK) rc = result;
  };
  check(curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L));  // timeouts without SIGALRM (threads)
  check(curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str()));
  check(curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
  check(curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"));
  check(curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L));
  // TLS verification is not an option: requests carry signatures and tokens worth stealing.
  check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L));
  check(curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L));
  if (!options.ca_file.empty()) {
    check(curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str()));
  }
  const std::int64_t connect_ms =
      absl::ToInt64Milliseconds(absl::Ceil(options.connect_timeout, absl::Milliseconds(1)));
  check(curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(std::max<std::int64_t>(1, connect_ms))));
  check(curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout_ms)));
  check(curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers));
  if (request.method == "GET") {
    check(curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L));
  } else {
    check(curl_easy_setopt(easy, CURLOPT_POST, 1L));
    check(curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                           static_cast<curl_off_t>(request.body.size())));
    // Not copied: the body lives in `request` until curl is done with it.
    check(curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str()));
    if (request.method == "PUT") check(curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT"));
  }
  // Refuses early when Content-Length already says too much; OnBody catches the rest.
  check(
      curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(reply->max_body)));
  check(curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &OnBody));
  check(curl_easy_setopt(easy, CURLOPT_WRITEDATA, reply));
  check(curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &OnHeader));
  check(curl_easy_setopt(easy, CURLOPT_HEADERDATA, reply));
  return rc;
}

}  // namespace ota
