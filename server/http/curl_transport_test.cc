// Tests for CurlTransport against real cpp-httplib servers on 127.0.0.1 (plain HTTP and HTTPS with
// a certificate made at test time). Real sockets and real time are the point here, so waits are on
// notifications with generous limits, and durations are kept short.
#include "server/http/curl_transport.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/attempt_stage.h"
#include "server/testing/raw_capture_server.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::ota::testing::RawCaptureServer;

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kWaitLimit = absl::Seconds(30);

// What the server saw of one request.
struct SeenRequest {
  std::string method;
  std::string target;  // path and query, as sent
  std::string body;
  std::multimap<std::string, std::string> headers;  // names lower-cased
  int remote_port = 0;
};

// Collects requests from httplib's worker threads.
class RequestLog {
 public:
  void Add(const httplib::Request& request) {
    SeenRequest seen{request.method, request.target, request.body, {}, request.remote_port};
    for (const auto& [name, value] : request.headers) {
      // httplib adds the peer's addresses as pseudo headers; they were never on the wire.
      if (name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
          name == "LOCAL_PORT") {
        continue;
      }
      seen.headers.emplace(absl::AsciiStrToLower(name), value);
    }
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(seen));
  }
  std::vector<SeenRequest> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::size_t Count() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_.size();
  }
  std::set<int> RemotePorts() {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int> ports;
    for (const SeenRequest& seen : requests_) ports.insert(seen.remote_port);
    return ports;
  }

 private:
  std::mutex mu_;
  std::vector<SeenRequest> requests_;
};

// An httplib server listening on 127.0.0.1:<free port> in its own thread until destroyed.
class TestServer {
 public:
  explicit TestServer(std::unique_ptr<httplib::Server> server = std::make_unique<httplib::Server>())
      : server_(std::move(server)) {
    // Many requests per connection, so the reuse test measures the client, not the server's limit.
    server_->set_keep_alive_max_count(100000);
    server_->set_keep_alive_timeout(30);
    // Without it the server's separate header and body writes meet delayed ACKs (40 ms each).
    server_->set_tcp_nodelay(true);
  }
  ~TestServer() {
    if (thread_.joinable()) {
      server_->stop();
      thread_.join();
    }
  }
  httplib::Server& server() { return *server_; }

  // Call after registering handlers.
  void Start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() before the accept loop runs would be lost, so wait for it.
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  [[nodiscard]] std::string Url(absl::string_view path_and_query, absl::string_view scheme = "http",
                                absl::string_view host = "127.0.0.1") const {
    return absl::StrCat(scheme, "://", host, ":", port_, path_and_query);
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// Sends and waits. (Waiting uses std primitives rather than absl::Notification throughout this
// file: Debian's prebuilt Abseil is not TSan-instrumented, so TSan would not see its ordering.)
absl::StatusOr<HttpResponse> SendAndWait(CurlTransport& transport, HttpRequest request,
                                         absl::Time deadline) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<HttpResponse>>>();
  std::future<absl::StatusOr<HttpResponse>> reply = promise->get_future();
  transport.Send(std::move(request), deadline, [promise](absl::StatusOr<HttpResponse> outcome) {
    promise->set_value(std::move(outcome));
  });
  if (reply.wait_for(absl::ToChronoSeconds(kWaitLimit)) != std::future_status::ready) {
    return absl::InternalError("test: the callback never ran");
  }
  return reply.get();
}

HttpRequest Post(std::string url, HeaderList headers = {}, std::string body = "") {
  return HttpRequest{"POST", std::move(url), std::move(headers), std::move(body)};
}

absl::Time In(absl::Duration d) { return absl::Now() + d; }

// A port on 127.0.0.1 with nothing listening (bound, then released).
int UnusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    return -1;
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::size_t ThreadCount() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++count;
  }
  return count;
}

// ---- HTTP exchange ----

TEST(CurlTransportTest, PostCarriesExactlyOurHeadersQueryAndBody) {
  RawCaptureServer server(
      "HTTP/1.1 100 Continue\r\nX-Interim: dropped\r\n\r\n"
      "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nX-Reply-ID:  r-42 \r\n"
      "Content-Length: 19\r\nConnection: close\r\n\r\n"
      R"({"RequestId":"abc"})");
  ASSERT_GT(server.port(), 0);
  CurlTransport transport({});

  const std::string target = "/api?Action=CancelOTAStrategyByJob&JobId=job%2B1&Signature=s%3D";
  absl::StatusOr<HttpResponse> reply =
      SendAndWait(transport,
                  Post(absl::StrCat("http://127.0.0.1:", server.port(), target),
                       {{"Host", "iot.test.example"},
                        {"Content-Type", "application/x-www-form-urlencoded"},
                        {"x-acs-signature-nonce", "n-1"},
                        {"x-acs-empty", ""}},
                       "a=1&b=2"),
                  In(absl::Seconds(10)));

  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->status, 202);
  EXPECT_EQ(reply->body, R"({"RequestId":"abc"})");
  // Names lower-cased, values trimmed, the interim response's headers gone.
  EXPECT_THAT(reply->headers,
              ElementsAre(Pair("content-type", "application/json"), Pair("x-reply-id", "r-42"),
                          Pair("content-length", "19"), Pair("connection", "close")));

  const std::string request = server.Request();
  const std::size_t head_end = request.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << request;
  EXPECT_EQ(request.substr(head_end + 4), "a=1&b=2");
  const std::vector<std::string> lines = absl::StrSplit(request.substr(0, head_end), "\r\n");
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], absl::StrCat("POST ", target, " HTTP/1.1"));
  // Our headers, our Host instead of curl's, Content-Length; no Accept, Expect or User-Agent.
  const std::vector<std::string> headers(lines.begin() + 1, lines.end());
  EXPECT_THAT(headers, UnorderedElementsAre("Host: iot.test.example",
                                            "Content-Type: application/x-www-form-urlencoded",
                                            "x-acs-signature-nonce: n-1",
                                            "x-acs-empty:", "Content-Length: 7"));
  // ...and ours in the order given.
  std::vector<std::string> ours;
  for (const std::string& line : headers) {
    if (!absl::StartsWith(line, "Content-Length")) ours.push_back(line);
  }
  EXPECT_THAT(
      ours, ElementsAre("Host: iot.test.example", "Content-Type: application/x-www-form-urlencoded",
                        "x-acs-signature-nonce: n-1", "x-acs-empty:"));
}

TEST(CurlTransportTest, EmptyPostSendsNoDefaultContentTypeAndGetIsHonoured) {
  RequestLog log;
  TestServer server;
  server.server().Post("/p", [&](const httplib::Request& request, httplib::Response& response) {
    log.Add(request);
    response.set_content("posted", "text/plain");
  });
  server.server().Get("/g", [&](const httplib::Request& request, httplib::Response& response) {
    log.Add(request);
    response.set_content("got", "text/plain");
  });
  server.Start();
  CurlTransport transport({});

  absl::StatusOr<HttpResponse> posted =
      SendAndWait(transport, Post(server.Url("/p?x=1")), In(absl::Seconds(10)));
  absl::StatusOr<HttpResponse> got = SendAndWait(
      transport, HttpRequest{"GET", server.Url("/g?y=2"), {}, ""}, In(absl::Seconds(10)));

  ASSERT_THAT(posted, IsOk());
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(posted->body, "posted");
  EXPECT_EQ(got->body, "got");
  const std::vector<SeenRequest> seen = log.Requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, "");
  // No form Content-Type curl would add by itself; only Host and Content-Length beside ours.
  EXPECT_EQ(seen[0].headers.count("host"), 1u);
  EXPECT_EQ(seen[0].headers.count("content-type"), 0u);
  EXPECT_THAT(seen[0].headers, Contains(Pair("content-length", "0")));
  EXPECT_EQ(seen[0].headers.size(), 2u);
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].target, "/g?y=2");
  EXPECT_EQ(seen[1].headers.count("content-length"), 0u);
}

TEST(CurlTransportTest, NonSuccessStatusIsAResponseNotAnError) {
  TestServer server;
  server.server().Post("/", [](const httplib::Request&, httplib::Response& response) {
    response.status = 503;
    response.set_content(R"({"Code":"ServiceUnavailable"})", "application/json");
  });
  server.Start();
  CurlTransport transport({});

  absl::StatusOr<HttpResponse> reply =
      SendAndWait(transport, Post(server.Url("/")), In(absl::Seconds(10)));

  ASSERT_THAT(reply, IsOk());
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(reply->body, R"({"Code":"ServiceUnavailable"})");
}

TEST(CurlTransportTest, RejectsBadRequestsWithoutSending) {
  RequestLog log;
  TestServer server;
  server.server().Post(
      "/", [&](const httplib::Request& request, httplib::Response&) { log.Add(request); });
  server.Start();
  CurlTransport transport({});

  absl::StatusOr<HttpResponse> put =
      SendAndWait(transport, HttpRequest{"PUT", server.Url("/"), {}, ""}, In(absl::Seconds(10)));
  absl::StatusOr<HttpResponse> injected = SendAndWait(
      transport, Post(server.Url("/"), {{"x-a", "1\r\nx-injected: 2"}}), In(absl::Seconds(10)));
  absl::StatusOr<HttpResponse> ftp = SendAndWait(
      transport, Post("ftp://127.0.0.1/?AccessKeyId=LTAIsecretid"), In(absl::Seconds(10)));

  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument) << put.status();
  EXPECT_EQ(injected.status().code(), absl::StatusCode::kInvalidArgument) << injected.status();
  EXPECT_EQ(ftp.status().code(), absl::StatusCode::kInternal) << ftp.status();
  EXPECT_THAT(ftp.status().message(), Not(HasSubstr("LTAIsecretid")));
  EXPECT_EQ(log.Count(), 0u);
}

// ---- connections ----

TEST(CurlTransportTest, SequentialRequestsReuseOneConnection) {
  RequestLog log;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request& request, httplib::Response& response) {
    log.Add(request);
    response.set_content(request.get_param_value("n"), "text/plain");
  });
  server.Start();
  CurlTransport transport({});

  for (int n = 0; n < 200; ++n) {
    absl::StatusOr<HttpResponse> reply =
        SendAndWait(transport, Post(server.Url(absl::StrCat("/?n=", n))), In(absl::Seconds(10)));
    ASSERT_THAT(reply, IsOk()) << "request " << n << ": " << reply.status();
    ASSERT_EQ(reply->body, absl::StrCat(n));
  }

  EXPECT_EQ(log.Count(), 200u);
  EXPECT_EQ(log.RemotePorts().size(), 1u);
  const CurlTransport::Stats stats = transport.stats();
  EXPECT_EQ(stats.requests_started, 200u);
  EXPECT_EQ(stats.requests_completed, 200u);
  EXPECT_EQ(stats.connections_opened, 1u);
}

TEST(CurlTransportTest, ConcurrentRequestsFromManyThreadsAllCompleteWithinTheConnectionCap) {
  RequestLog log;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request& request, httplib::Response& response) {
    log.Add(request);
    response.set_content(request.get_param_value("n"), "text/plain");
  });
  server.Start();
  CurlTransport transport({.max_connections = 4});

  constexpr int kThreads = 5;
  constexpr int kPerThread = 10;
  std::vector<absl::StatusOr<HttpResponse>> replies(kThreads * kPerThread);
  std::latch remaining(kThreads * kPerThread);
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        transport.Send(Post(server.Url(absl::StrCat("/?n=", n))), In(absl::Seconds(20)),
                       [&replies, &remaining, n](absl::StatusOr<HttpResponse> reply) {
                         replies[n] = std::move(reply);
                         remaining.count_down();
                       });
      }
    });
  }
  for (std::thread& sender : senders) sender.join();
  remaining.wait();

  for (int n = 0; n < kThreads * kPerThread; ++n) {
    ASSERT_THAT(replies[n], IsOk()) << n << ": " << replies[n].status();
    EXPECT_EQ(replies[n]->body, absl::StrCat(n));
  }
  EXPECT_EQ(log.Count(), 50u);
  EXPECT_LE(log.RemotePorts().size(), 4u);
  EXPECT_LE(transport.stats().connections_opened, 4u);
  EXPECT_EQ(transport.stats().requests_completed, 50u);
}

TEST(CurlTransportTest, CallbacksAndTasksMaySendAndSchedule) {
  TestServer server;
  server.server().Post("/", [](const httplib::Request& request, httplib::Response& response) {
    response.set_content(request.get_param_value("step"), "text/plain");
  });
  server.Start();
  CurlTransport transport({});

  std::promise<void> finished;
  std::vector<std::string> bodies;  // touched only on the loop thread until `finished`
  transport.Send(
      Post(server.Url("/?step=1")), In(absl::Seconds(10)), [&](absl::StatusOr<HttpResponse> first) {
        bodies.push_back(first.ok() ? first->body : first.status().ToString());
        transport.RunAt(absl::Now(), [&] {
          transport.Send(
              Post(server.Url("/?step=2")), In(absl::Seconds(10)),
              [&](absl::StatusOr<HttpResponse> second) {
                bodies.push_back(second.ok() ? second->body : second.status().ToString());
                finished.set_value();
              });
        });
      });

  ASSERT_EQ(finished.get_future().wait_for(absl::ToChronoSeconds(kWaitLimit)),
            std::future_status::ready);
  EXPECT_THAT(bodies, ElementsAre("1", "2"));
}

// ---- deadlines and failures ----

TEST(CurlTransportTest, DeadlineAlreadyPassedFailsWithoutContactingTheServer) {
  RequestLog log;
  TestServer server;
  server.server().Post(
      "/", [&](const httplib::Request& request, httplib::Response&) { log.Add(request); });
  server.Start();
  CurlTransport transport({});

  absl::StatusOr<HttpResponse> reply =
      SendAndWait(transport, Post(server.Url("/")), absl::Now() - absl::Milliseconds(1));

  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded) << reply.status();
  EXPECT_EQ(AttemptStageOf(reply.status()), AttemptStage::kNeverSent);
  EXPECT_EQ(log.Count(), 0u);
  EXPECT_EQ(transport.stats().requests_started, 0u);
  EXPECT_EQ(transport.stats().requests_completed, 1u);
}

// A handler that holds its reply until released (or a safety limit), standing in for a slow
// upstream without making server shutdown wait long.
struct Gate {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> arrivals{0};
  void Hold() {
    if (arrivals.fetch_add(1) == 0) entered.set_value();
    released.wait_for(std::chrono::seconds(10));
  }
  [[nodiscard]] bool WaitUntilEntered() {
    return entered.get_future().wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  }
};

TEST(CurlTransportTest, SlowServerPastTheDeadlineIsDeadlineExceeded) {
  Gate gate;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request&, httplib::Response& response) {
    gate.Hold();
    response.set_content("late", "text/plain");
  });
  server.Start();
  CurlTransport transport({.request_timeout = absl::Seconds(10)});

  const absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> reply = SendAndWait(
      transport, Post(server.Url("/?AccessKeyId=LTAIsecretid")), start + absl::Milliseconds(200));
  const absl::Duration took = absl::Now() - start;
  gate.release.set_value();

  EXPECT_EQ(reply.status().code(), absl::StatusCode::kDeadlineExceeded) << reply.status();
  EXPECT_EQ(AttemptStageOf(reply.status()), AttemptStage::kSentWithoutAnswer);
  EXPECT_THAT(reply.status().message(), Not(HasSubstr("LTAIsecretid")));
  EXPECT_GE(took, absl::Milliseconds(195));
  EXPECT_LT(took, absl::Seconds(5));
}

TEST(CurlTransportTest, RequestTimeoutBelowTheDeadlineIsUnavailable) {
  Gate gate;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request&, httplib::Response& response) {
    gate.Hold();
    response.set_content("late", "text/plain");
  });
  server.Start();
  CurlTransport transport({.request_timeout = absl::Milliseconds(200)});

  absl::StatusOr<HttpResponse> reply =
      SendAndWait(transport, Post(server.Url("/")), In(absl::Seconds(20)));
  gate.release.set_value();

  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  EXPECT_THAT(reply.status().message(), HasSubstr("timed out after"));
  EXPECT_EQ(AttemptStageOf(reply.status()), AttemptStage::kSentWithoutAnswer);
  EXPECT_THAT(reply.status().message(), HasSubstr("the request was sent"));
}

// The two ways an answer is lost after the request left: the connection closes with no answer,
// or the body stops short of its Content-Length. Both are "sent", never "could not reach".
TEST(CurlTransportTest, AnswersLostAfterTheRequestLeftAreSentWithoutAnswer) {
  for (const std::string& canned :
       {std::string(), std::string("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Req")}) {
    ota::testing::RawCaptureServer server(canned);
    ASSERT_GT(server.port(), 0);
    CurlTransport transport({});
    absl::StatusOr<HttpResponse> reply =
        SendAndWait(transport, Post(absl::StrCat("http://127.0.0.1:", server.port(), "/")),
                    In(absl::Seconds(10)));
    EXPECT_FALSE(server.Request().empty()) << "the request arrived";
    ASSERT_FALSE(reply.ok()) << canned;
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
    EXPECT_EQ(AttemptStageOf(reply.status()), AttemptStage::kSentWithoutAnswer) << reply.status();
  }
}

TEST(CurlTransportTest, ConnectionRefusedIsUnavailableAndHidesTheQuery) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  CurlTransport transport({});

  absl::StatusOr<HttpResponse> reply =
      SendAndWait(transport,
                  Post(absl::StrCat("http://127.0.0.1:", port,
                                    "/?AccessKeyId=LTAIsecretid&Signature=c2lnbmF0dXJlc2VjcmV0")),
                  In(absl::Seconds(10)));

  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable) << reply.status();
  EXPECT_EQ(AttemptStageOf(reply.status()), AttemptStage::kNeverSent);
  EXPECT_THAT(reply.status().message(), HasSubstr("never sent"));
  EXPECT_THAT(reply.status().message(),
              AllOf(HasSubstr("onnect"), Not(HasSubstr("LTAIsecretid")),
                    Not(HasSubstr("c2lnbmF0dXJlc2VjcmV0")), Not(HasSubstr("AccessKeyId"))));
}

TEST(CurlTransportTest, OversizeBodyIsAnErrorWhetherLengthIsKnownOrChunked) {
  TestServer server;
  server.server().Post("/fixed", [](const httplib::Request& request, httplib::Response& response) {
    response.set_content(std::string(std::stoul(request.get_param_value("size")), 'x'),
                         "text/plain");
  });
  server.server().Post("/chunked", [](const httplib::Request&, httplib::Response& response) {
    response.set_chunked_content_provider("text/plain",
                                          [](std::size_t offset, httplib::DataSink& sink) {
                                            if (offset >= 2000) {
                                              sink.done();
                                            } else {
                                              const std::string chunk(500, 'y');
                                              sink.write(chunk.data(), chunk.size());
                                            }
                                            return true;
                                          });
  });
  server.Start();
  CurlTransport transport({.max_response_bytes = 1000});

  absl::StatusOr<HttpResponse> at_limit =
      SendAndWait(transport, Post(server.Url("/fixed?size=1000")), In(absl::Seconds(10)));
  absl::StatusOr<HttpResponse> fixed =
      SendAndWait(transport, Post(server.Url("/fixed?size=1001")), In(absl::Seconds(10)));
  absl::StatusOr<HttpResponse> chunked =
      SendAndWait(transport, Post(server.Url("/chunked")), In(absl::Seconds(10)));

  ASSERT_THAT(at_limit, IsOk());
  EXPECT_EQ(at_limit->body.size(), 1000u);
  EXPECT_EQ(fixed.status().code(), absl::StatusCode::kUnavailable) << fixed.status();
  EXPECT_THAT(fixed.status().message(), HasSubstr("response body larger than 1000 bytes"));
  EXPECT_EQ(chunked.status().code(), absl::StatusCode::kUnavailable) << chunked.status();
  EXPECT_THAT(chunked.status().message(), HasSubstr("response body larger than 1000 bytes"));
}

// ---- departure window ----

TEST(CurlTransportTest, DepartureWindowHoldsRequestsOverTheLimitUntilTheOldestAgesOut) {
  std::mutex mu;
  std::vector<absl::Time> arrivals;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request&, httplib::Response& response) {
    std::lock_guard<std::mutex> lock(mu);
    arrivals.push_back(absl::Now());
    response.set_content("ok", "text/plain");
  });
  server.Start();
  const absl::Duration window = absl::Milliseconds(300);
  CurlTransport transport({.departure_limit = 2, .departure_window = window});

  // Sent back to back from one thread, so all five reach the loop well within one window.
  const absl::Time sent = absl::Now();
  std::vector<std::promise<absl::StatusOr<HttpResponse>>> replies(5);
  for (auto& reply : replies) {
    transport.Send(
        Post(server.Url("/")), In(absl::Seconds(20)),
        [&reply](absl::StatusOr<HttpResponse> outcome) { reply.set_value(std::move(outcome)); });
  }
  for (auto& reply : replies) {
    std::future<absl::StatusOr<HttpResponse>> done = reply.get_future();
    ASSERT_EQ(done.wait_for(absl::ToChronoSeconds(kWaitLimit)), std::future_status::ready);
    absl::StatusOr<HttpResponse> outcome = done.get();
    ASSERT_THAT(outcome, IsOk());
  }

  // Two leave at once, the next two only once those are a window old, the fifth a window later:
  // the last arrival cannot come before two whole windows have passed (a bound that load on the
  // machine can only make later, never earlier).
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(arrivals.size(), 5u);
  std::sort(arrivals.begin(), arrivals.end());
  EXPECT_GE(arrivals[4] - sent, 2 * window);
  EXPECT_GE(arrivals[2] - sent, window);
  EXPECT_EQ(transport.stats().held_for_departures, 3u);
  EXPECT_EQ(transport.stats().requests_started, 5u);
}

TEST(CurlTransportTest, HeldRequestsFailAtTheirDeadlineOrShutdownWithoutBeingSent) {
  RequestLog log;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request& request, httplib::Response& response) {
    log.Add(request);
    response.set_content("ok", "text/plain");
  });
  server.Start();
  std::promise<absl::StatusOr<HttpResponse>> at_shutdown;
  {
    CurlTransport transport({.departure_limit = 1, .departure_window = absl::Seconds(60)});
    ASSERT_THAT(SendAndWait(transport, Post(server.Url("/?n=1")), In(absl::Seconds(10))), IsOk());

    const absl::Time start = absl::Now();
    absl::StatusOr<HttpResponse> late =
        SendAndWait(transport, Post(server.Url("/?n=2")), start + absl::Milliseconds(200));
    EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded) << late.status();
    EXPECT_THAT(late.status().message(), HasSubstr("departure window"));
    EXPECT_GE(absl::Now() - start, absl::Milliseconds(195));

    transport.Send(
        Post(server.Url("/?n=3")), In(absl::Seconds(60)),
        [&](absl::StatusOr<HttpResponse> outcome) { at_shutdown.set_value(std::move(outcome)); });
  }
  absl::StatusOr<HttpResponse> cancelled = at_shutdown.get_future().get();
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kCancelled) << cancelled.status();
  EXPECT_EQ(log.Count(), 1u);
}

TEST(CurlTransportTest, ARequestThatNeverLeftGivesItsPlaceInTheWindowBack) {
  const int refused_port = UnusedPort();
  ASSERT_GT(refused_port, 0);
  TestServer server;
  server.server().Post("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok", "text/plain");
  });
  server.Start();
  CurlTransport transport({.departure_limit = 1, .departure_window = absl::Seconds(60)});

  absl::StatusOr<HttpResponse> refused = SendAndWait(
      transport, Post(absl::StrCat("http://127.0.0.1:", refused_port, "/")), In(absl::Seconds(10)));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  // Had the refused request kept its place, this one would wait out the minute and fail.
  absl::StatusOr<HttpResponse> reply =
      SendAndWait(transport, Post(server.Url("/")), In(absl::Seconds(10)));
  EXPECT_THAT(reply, IsOk());
  EXPECT_EQ(transport.stats().held_for_departures, 0u);
}

TEST(CurlTransportTest, EachPacingKeyHasADepartureWindowOfItsOwn) {
  TestServer server;
  server.server().Post("/", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok", "text/plain");
  });
  server.Start();
  CurlTransport transport({.departure_limit = 1,
                           .departure_window = absl::Seconds(60),
                           .departure_limits = {{"QueryOTAJob", 2}}});
  auto keyed = [&](std::string key) {
    HttpRequest request = Post(server.Url("/"));
    request.pacing_key = std::move(key);
    return request;
  };
  ASSERT_THAT(SendAndWait(transport, keyed(""), In(absl::Seconds(10))), IsOk());
  // The default window is full for a minute; another quota's requests still leave at once, up to
  // their own limit.
  ASSERT_THAT(SendAndWait(transport, keyed("QueryOTAJob"), In(absl::Seconds(10))), IsOk());
  ASSERT_THAT(SendAndWait(transport, keyed("QueryOTAJob"), In(absl::Seconds(10))), IsOk());
  ASSERT_THAT(SendAndWait(transport, keyed("ListOTAJobByFirmware"), In(absl::Seconds(10))), IsOk());
  EXPECT_EQ(transport.stats().held_for_departures, 0u);
  for (const char* full : {"", "QueryOTAJob", "ListOTAJobByFirmware"}) {
    absl::StatusOr<HttpResponse> held =
        SendAndWait(transport, keyed(full), absl::Now() + absl::Milliseconds(100));
    EXPECT_EQ(held.status().code(), absl::StatusCode::kDeadlineExceeded) << full;
    EXPECT_THAT(held.status().message(), HasSubstr("departure window")) << full;
  }
}

// ---- TLS ----

// A self-signed certificate for IP 127.0.0.1 and its key, written as PEM files into a fresh
// temporary folder that is removed again on destruction.
class SelfSignedCertificate {
 public:
  SelfSignedCertificate() {
    std::string pattern = (std::filesystem::temp_directory_path() / "curl_transport_test.XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) return;
    dir_ = pattern;
    cert_path_ = (dir_ / "cert.pem").string();
    key_path_ = (dir_ / "key.pem").string();
    ok_ = Write();
  }
  ~SelfSignedCertificate() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] const std::string& cert_path() const { return cert_path_; }
  [[nodiscard]] const std::string& key_path() const { return key_path_; }

 private:
  bool Write() {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
    if (!key || !cert) return false;
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    const std::string common_name = "ota-gateway test";
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
    for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                                     std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
      if (extension == nullptr) return false;
      X509_add_ext(cert.get(), extension, -1);
      X509_EXTENSION_free(extension);
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return false;

    std::FILE* cert_file = std::fopen(cert_path_.c_str(), "w");
    std::FILE* key_file = std::fopen(key_path_.c_str(), "w");
    const bool written =
        cert_file != nullptr && key_file != nullptr && PEM_write_X509(cert_file, cert.get()) == 1 &&
        PEM_write_PrivateKey(key_file, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    if (cert_file != nullptr) std::fclose(cert_file);
    if (key_file != nullptr) std::fclose(key_file);
    return written;
  }

  std::filesystem::path dir_;
  std::string cert_path_;
  std::string key_path_;
  bool ok_ = false;
};

TEST(CurlTransportTest, HttpsVerifiesThePeerAgainstTheConfiguredCa) {
  SelfSignedCertificate certificate;
  ASSERT_THAT(certificate, IsOk());
  auto https = std::make_unique<httplib::SSLServer>(certificate.cert_path().c_str(),
                                                    certificate.key_path().c_str());
  ASSERT_TRUE(https->is_valid());
  RequestLog log;
  TestServer server(std::move(https));
  server.server().Post("/", [&](const httplib::Request& request, httplib::Response& response) {
    log.Add(request);
    response.set_content("secure", "text/plain");
  });
  server.Start();

  CurlTransport system_store({});
  absl::StatusOr<HttpResponse> untrusted = SendAndWait(
      system_store, Post(server.Url("/?AccessKeyId=LTAIsecretid", "https")), In(absl::Seconds(10)));
  EXPECT_EQ(untrusted.status().code(), absl::StatusCode::kUnavailable) << untrusted.status();
  EXPECT_THAT(untrusted.status().message(), Not(HasSubstr("LTAIsecretid")));

  CurlTransport trusting({.ca_file = certificate.cert_path()});
  absl::StatusOr<HttpResponse> trusted = SendAndWait(
      trusting, Post(server.Url("/?AccessKeyId=LTAIsecretid", "https")), In(absl::Seconds(10)));
  ASSERT_THAT(trusted, IsOk());
  EXPECT_EQ(trusted->status, 200);
  EXPECT_EQ(trusted->body, "secure");

  // Same trusted certificate, but the name asked for is not the one it was issued to.
  absl::StatusOr<HttpResponse> wrong_name =
      SendAndWait(trusting, Post(server.Url("/", "https", "localhost")), In(absl::Seconds(10)));
  EXPECT_EQ(wrong_name.status().code(), absl::StatusCode::kUnavailable) << wrong_name.status();

  EXPECT_EQ(log.Count(), 1u);
}

// ---- timers ----

TEST(CurlTransportTest, RunAtRunsByTimeThenInOrderAdded) {
  CurlTransport transport({});
  const absl::Time base = absl::Now() + absl::Milliseconds(50);
  std::vector<std::string> order;  // loop thread only until `all` is done
  std::vector<std::pair<absl::Time, absl::Time>> due_and_ran;
  std::latch all(21);
  auto record = [&](std::string label, absl::Time when) {
    return [&, label = std::move(label), when] {
      order.push_back(label);
      due_and_ran.emplace_back(when, absl::Now());
      all.count_down();
    };
  };
  for (int i = 0; i < 10; ++i) {
    transport.RunAt(base + absl::Milliseconds(20),
                    record(absl::StrCat("late", i), base + absl::Milliseconds(20)));
  }
  for (int i = 0; i < 10; ++i) transport.RunAt(base, record(absl::StrCat("early", i), base));
  const absl::Time past = absl::Now() - absl::Seconds(1);
  transport.RunAt(past, record("past", past));
  all.wait();

  EXPECT_THAT(order, ElementsAre("past", "early0", "early1", "early2", "early3", "early4", "early5",
                                 "early6", "early7", "early8", "early9", "late0", "late1", "late2",
                                 "late3", "late4", "late5", "late6", "late7", "late8", "late9"));
  for (const auto& [due, ran] : due_and_ran) EXPECT_GE(ran, due);
}

TEST(CurlTransportTest, TenThousandTimersFromSeveralThreadsAllRunOnTimeInOrder) {
  CurlTransport transport({});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  // All timers are due well after they have all been added, so the loop holds every one of them
  // in its heap before the first is due and must run them in exact (time, insertion) order.
  const absl::Time first_due = absl::Now() + absl::Seconds(1);
  std::latch remaining(kThreads * kPerThread);
  std::vector<absl::Time> run_due_times;  // loop thread only until `remaining` is done
  int early = 0;
  const std::size_t threads_before = ThreadCount();
  std::vector<std::thread> schedulers;
  for (int t = 0; t < kThreads; ++t) {
    schedulers.emplace_back([&, t] {
      std::mt19937 random(static_cast<unsigned>(t));
      std::uniform_int_distribution<int> offset_us(0, 300000);
      for (int i = 0; i < kPerThread; ++i) {
        const absl::Time when = first_due + absl::Microseconds(offset_us(random));
        transport.RunAt(when, [&, when] {
          if (absl::Now() < when) ++early;
          run_due_times.push_back(when);
          remaining.count_down();
        });
      }
    });
  }
  for (std::thread& scheduler : schedulers) scheduler.join();
  ASSERT_LT(absl::Now(), first_due) << "adding the timers took too long for the order check";
  // Pending timers are heap entries, not threads.
  EXPECT_EQ(ThreadCount(), threads_before);
  remaining.wait();

  ASSERT_EQ(run_due_times.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(early, 0);
  EXPECT_TRUE(std::is_sorted(run_due_times.begin(), run_due_times.end()));
}

// ---- shutdown ----

TEST(CurlTransportTest, DestructorCancelsRequestsAndDropsTimersPromptly) {
  Gate gate;
  TestServer server;
  server.server().Post("/", [&](const httplib::Request&, httplib::Response& response) {
    gate.Hold();
    response.set_content("late", "text/plain");
  });
  server.Start();

  std::vector<absl::StatusCode> codes;  // written on the loop thread, read after the destructor
  std::vector<absl::StatusCode> resend_codes;
  auto token = std::make_shared<int>(0);  // copied into each timer task; released when dropped
  std::atomic<int> tasks_run{0};
  auto transport = std::make_unique<CurlTransport>(CurlTransportOptions{.max_connections = 1});
  CurlTransport* raw = transport.get();
  for (int i = 0; i < 3; ++i) {
    transport->Send(Post(server.Url("/")), In(absl::Seconds(30)),
                    [&, raw](absl::StatusOr<HttpResponse> reply) {
                      codes.push_back(reply.status().code());
                      // A callback that tries again during shutdown must be told no at once.
                      raw->Send(Post(server.Url("/")), In(absl::Seconds(30)),
                                [&](absl::StatusOr<HttpResponse> again) {
                                  resend_codes.push_back(again.status().code());
                                });
                    });
  }
  ASSERT_TRUE(gate.WaitUntilEntered());
  const std::size_t threads_before = ThreadCount();
  for (int i = 0; i < 10000; ++i) {
    transport->RunAt(absl::Now() + absl::Hours(1), [token, &tasks_run] { ++tasks_run; });
  }
  EXPECT_EQ(ThreadCount(), threads_before);  // no thread per timer

  const absl::Time start = absl::Now();
  transport.reset();
  const absl::Duration destroy_took = absl::Now() - start;
  gate.release.set_value();

  EXPECT_LT(destroy_took, absl::Seconds(2));
  EXPECT_THAT(codes, ElementsAre(absl::StatusCode::kCancelled, absl::StatusCode::kCancelled,
                                 absl::StatusCode::kCancelled));
  EXPECT_THAT(resend_codes, ElementsAre(absl::StatusCode::kCancelled, absl::StatusCode::kCancelled,
                                        absl::StatusCode::kCancelled));
  EXPECT_EQ(tasks_run.load(), 0);
  EXPECT_EQ(token.use_count(), 1);
}

}  // namespace
}  // namespace ota
