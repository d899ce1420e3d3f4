// FakeCredentialsHttpClient: a scripted CredentialsHttpClient for provider tests (test-only).
//
//   auto http = std::make_shared<ota::testing::FakeCredentialsHttpClient>(
//       [](const ota::HttpRequest& r) -> absl::StatusOr<ota::HttpResponse> {
//         return ota::HttpResponse{.status = 200, .headers = {}, .body = "token"};
//       });
//   ... http->requests() holds what was sent.
#pragma once

#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "server/http/credentials_http_client.h"

namespace ota::testing {

class FakeCredentialsHttpClient final : public CredentialsHttpClient {
 public:
  using Handler = std::function<absl::StatusOr<HttpResponse>(const HttpRequest&)>;
  explicit FakeCredentialsHttpClient(Handler handler) : handler_(std::move(handler)) {}

  [[nodiscard]] absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(request);
    }
    return handler_(request);
  }
  [[nodiscard]] std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  Handler handler_;
  mutable std::mutex mu_;
  std::vector<HttpRequest> requests_;
};

inline HttpResponse Reply(int status, std::string body) {
  return HttpResponse{.status = status, .headers = {}, .body = std::move(body)};
}

}  // namespace ota::testing
