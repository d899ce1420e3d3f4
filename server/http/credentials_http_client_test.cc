// Tests for CurlCredentialsHttpClient against a real cpp-httplib server on 127.0.0.1: methods,
// headers and bodies on the wire, timeouts, size limits, and error messages without queries.
#include "server/http/credentials_http_client.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/raw_capture_server.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::ota::testing::RawCaptureServer;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

class LocalServer {
 public:
  LocalServer() = default;
  ~LocalServer() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  httplib::Server& server() { return server_; }
  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST(CurlCredentialsHttpClientTest, PutWithHeaderThenGetWithToken) {
  LocalServer local;
  local.server().Put("/latest/api/token", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("X-aliyun-ecs-metadata-token-ttl-seconds") != "21600") {
      res.status = 400;
      return;
    }
    res.set_content("session-token", "text/plain");
  });
  local.server().Get("/latest/meta-data/ram/security-credentials/", [](const httplib::Request& req,
                                                                       httplib::Response& res) {
    res.status = req.get_header_value("X-aliyun-ecs-metadata-token") == "session-token" ? 200 : 401;
    res.set_header("X-Test", "yes");
    res.set_content("EcsRole", "text/plain");
  });
  local.Start();
  CurlCredentialsHttpClient client({});
  absl::StatusOr<HttpResponse> token =
      client.Send({.method = "PUT",
                   .url = local.Url("/latest/api/token"),
                   .headers = {{"X-aliyun-ecs-metadata-token-ttl-seconds", "21600"}},
                   .body = ""});
  ASSERT_THAT(token, IsOk());
  EXPECT_EQ(token->status, 200);
  EXPECT_EQ(token->body, "session-token");

  absl::StatusOr<HttpResponse> role =
      client.Send({.method = "GET",
                   .url = local.Url("/latest/meta-data/ram/security-credentials/"),
                   .headers = {{"X-aliyun-ecs-metadata-token", token->body}},
                   .body = ""});
  ASSERT_THAT(role, IsOk());
  EXPECT_EQ(role->status, 200);
  EXPECT_EQ(role->body, "EcsRole");
  EXPECT_EQ(role->Header("x-test"), "yes");
}

TEST(CurlCredentialsHttpClientTest, PostsTheFormBodyAndPassesErrorStatusesThrough) {
  LocalServer local;
  local.server().Post("/", [](const httplib::Request& req, httplib::Response& res) {
    res.status =
        req.get_param_value("Action") == "AssumeRoleWithOIDC" &&
                req.get_header_value("Content-Type") == "application/x-www-form-urlencoded" &&
                req.body == "OIDCToken=jwt&RoleArn=r"
            ? 403
            : 400;
    res.set_content(R"({"Code":"NoPermission"})", "application/json");
  });
  local.Start();
  CurlCredentialsHttpClient client({});
  absl::StatusOr<HttpResponse> reply =
      client.Send({.method = "POST",
                   .url = local.Url("/?Action=AssumeRoleWithOIDC"),
                   .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                   .body = "OIDCToken=jwt&RoleArn=r"});
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->status, 403);
  EXPECT_EQ(reply->body, R"({"Code":"NoPermission"})");
}

TEST(CurlCredentialsHttpClientTest, SlowServersTimeOutAsUnavailable) {
  LocalServer local;
  local.server().Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    res.set_content("late", "text/plain");
  });
  local.Start();
  CurlCredentialsHttpClient client({.total_timeout = absl::Milliseconds(200)});
  absl::StatusOr<HttpResponse> reply =
      client.Send({.method = "GET", .url = local.Url("/slow?secret=1"), .headers = {}, .body = ""});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("/slow"));
  EXPECT_THAT(reply.status().message(), Not(HasSubstr("secret")));
}

TEST(CurlCredentialsHttpClientTest, OversizedRepliesAreRefused) {
  LocalServer local;
  local.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'x'), "text/plain");
  });
  local.Start();
  CurlCredentialsHttpClient client({.max_response_bytes = 1000});
  absl::StatusOr<HttpResponse> reply =
      client.Send({.method = "GET", .url = local.Url("/big"), .headers = {}, .body = ""});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(reply.status().message(), HasSubstr("larger than 1000"));
}

TEST(CurlCredentialsHttpClientTest, NobodyListeningIsUnavailable) {
  int port = 0;
  {
    httplib::Server probe;
    port = probe.bind_to_any_port("127.0.0.1");  // then closed: nothing listens there
  }
  CurlCredentialsHttpClient client({});
  absl::StatusOr<HttpResponse> reply =
      client.Send({.method = "PUT",
                   .url = absl::StrCat("http://127.0.0.1:", port, "/latest/api/token"),
                   .headers = {},
                   .body = ""});
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
}

TEST(CurlCredentialsHttpClientTest, HttpsIsVerified) {
  // Nothing trusted serves TLS here: a plain-HTTP server spoken to over https:// must fail rather
  // than be accepted, and an https URL with an unverifiable peer is never "ok".
  LocalServer local;
  local.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("plain", "text/plain");
  });
  local.Start();
  CurlCredentialsHttpClient client({});
  std::string url = local.Url("/");
  url.replace(0, 4, "https");
  EXPECT_EQ(client.Send({.method = "GET", .url = url, .headers = {}, .body = ""}).status().code(),
            absl::StatusCode::kUnavailable);
}

// The same reply reading as the upstream transport (curl_easy.h): an interim 1xx reply's headers
// are dropped and an obsolete folded header line continues the header before it.
TEST(CurlCredentialsHttpClientTest, InterimRepliesAndFoldedHeadersAreReadLikeTheTransportDoes) {
  RawCaptureServer server(
      "HTTP/1.1 100 Continue\r\nX-Interim: dropped\r\n\r\n"
      "HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\nok");
  ASSERT_GT(server.port(), 0);
  CurlCredentialsHttpClient client({});
  absl::StatusOr<HttpResponse> reply =
      client.Send({.method = "POST",
                   .url = absl::StrCat("http://127.0.0.1:", server.port(), "/sts"),
                   .headers = {{"Content-Type", "application/x-www-form-urlencoded"}},
                   .body = "Action=AssumeRoleWithOIDC"});
  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "ok");
  EXPECT_THAT(reply->headers,
              ElementsAre(Pair("x-folded", "first second"), Pair("content-length", "2"),
                          Pair("connection", "close")));
  EXPECT_THAT(server.Request(), HasSubstr("\r\n\r\nAction=AssumeRoleWithOIDC"));
}

}  // namespace
}  // namespace ota
