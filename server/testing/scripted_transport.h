// ScriptedTransport: an HttpTransport that answers each request at once with the next scripted
// answer (a response or a transport error) and keeps every request it was sent, so call logic
// (signing, retries, error mapping) is tested without a network.
//
//   ota::testing::ScriptedTransport transport;
//   transport.script.push_back(ota::HttpResponse{.status = 200, .body = R"({"Success":true})"});
//   transport.script.push_back(absl::UnavailableError("connection reset"));
//   runner.Run(...);
//   EXPECT_EQ(transport.sent.size(), 2u);
#pragma once

#include <deque>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/http/http_transport.h"

namespace ota::testing {

class ScriptedTransport final : public HttpTransport {
 public:
  void Send(HttpRequest request, absl::Time /*deadline*/, Callback done) override {
    sent.push_back(std::move(request));
    if (script.empty()) {
      done(absl::InternalError("test transport: no scripted answer left"));
      return;
    }
    absl::StatusOr<HttpResponse> answer = std::move(script.front());
    script.pop_front();
    done(std::move(answer));
  }
  std::deque<absl::StatusOr<HttpResponse>> script;
  std::vector<HttpRequest> sent;
};

}  // namespace ota::testing
