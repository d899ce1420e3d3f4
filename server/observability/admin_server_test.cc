#include "server/observability/admin_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;

using ::testing::HasSubstr;

class AdminServerTest : public ::testing::Test {
 protected:
  AdminServerTest()
      : serving_("ota.v1.OtaStrategyService", "ota.v1.OtaStrategyService.limiter"),
        admin_(
            [this] {
              ++scrapes_;
              return std::string("# HELP up Up.\n# TYPE up gauge\nup 1\n");
            },
            serving_) {}

  // A real HTTP GET against the started server.
  httplib::Result Get(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    return client.Get(path.c_str());
  }

  ServingState serving_;
  std::atomic<int> scrapes_{0};
  AdminServer admin_;
};

TEST_F(AdminServerTest, ServesMetricsHealthzAndReadyzOnAFreePort) {
  absl::StatusOr<int> port = admin_.Start("127.0.0.1:0");
  ASSERT_THAT(port, IsOk());
  ASSERT_GT(*port, 0);

  httplib::Result metrics = Get(*port, "/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(metrics->body, "# HELP up Up.\n# TYPE up gauge\nup 1\n");
  EXPECT_EQ(scrapes_.load(), 1);

  httplib::Result healthz = Get(*port, "/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);

  httplib::Result missing = Get(*port, "/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(AdminServerTest, ReadyzFollowsTheServingState) {
  absl::StatusOr<int> port = admin_.Start("127.0.0.1:0");
  ASSERT_THAT(port, IsOk());

  httplib::Result starting = Get(*port, "/readyz");
  ASSERT_TRUE(starting);
  EXPECT_EQ(starting->status, 503);
  EXPECT_THAT(starting->body, HasSubstr("ota.v1.OtaStrategyService: NOT_SERVING\n"));

  serving_.SetLimiterHealthy(true);
  serving_.SetServing(true);
  httplib::Result ready = Get(*port, "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body,
            "ota.v1.OtaStrategyService: SERVING\nota.v1.OtaStrategyService.limiter: SERVING\n");

  // A degraded limiter is reported but does not make the gateway unready.
  serving_.SetLimiterHealthy(false);
  httplib::Result degraded = Get(*port, "/readyz");
  ASSERT_TRUE(degraded);
  EXPECT_EQ(degraded->status, 200);
  EXPECT_THAT(degraded->body, HasSubstr("ota.v1.OtaStrategyService.limiter: NOT_SERVING"));

  serving_.StopServing();
  httplib::Result draining = Get(*port, "/readyz");
  ASSERT_TRUE(draining);
  EXPECT_EQ(draining->status, 503);
  // Liveness is unaffected by draining.
  httplib::Result healthz = Get(*port, "/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
}

TEST_F(AdminServerTest, StopClosesThePortAndIsIdempotent) {
  absl::StatusOr<int> port = admin_.Start("127.0.0.1:0");
  ASSERT_THAT(port, IsOk());
  admin_.Stop();
  admin_.Stop();
  httplib::Result after = Get(*port, "/healthz");
  EXPECT_FALSE(after);
}

TEST_F(AdminServerTest, RefusesBadAddressesAndBusyPorts) {
  EXPECT_EQ(admin_.Start("no-port").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(admin_.Start("127.0.0.1:99999").status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<int> port = admin_.Start("127.0.0.1:0");
  ASSERT_THAT(port, IsOk());
  ServingState other_state("a", "b");
  AdminServer other([] { return std::string(); }, other_state);
  EXPECT_EQ(other.Start("127.0.0.1:" + std::to_string(*port)).status().code(),
            absl::StatusCode::kUnavailable);
}

// A TCP connection to 127.0.0.1:port that the test holds open; closed on destruction.
class HeldConnection {
 public:
  explicit HeldConnection(int port, int receive_buffer = 0) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  }
  HeldConnection(const HeldConnection&) = delete;
  HeldConnection& operator=(const HeldConnection&) = delete;
  ~HeldConnection() { close(fd_); }

  bool Send(const std::string& bytes) {
    return connected_ && send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                             static_cast<ssize_t>(bytes.size());
  }
  [[nodiscard]] bool connected() const { return connected_; }

 private:
  int fd_;
  bool connected_ = false;
};

int ThreadsOfThisProcess() {
  int threads = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    ++threads;
  }
  return threads;
}

// What an operator's port scanner, or Prometheus servers keeping scrape connections alive, do to
// the admin port: connections that say nothing, requests that never finish their headers, and a
// scrape of a large /metrics that is not read. Probes must still answer within 100 ms, and no
// thread may be spent per held connection.
TEST(AdminServerHeldConnectionsTest, ProbesAnswerWithin100MsWhileConnectionsAreHeld) {
  ServingState serving("ota.v1.OtaStrategyService", "ota.v1.OtaStrategyService.limiter");
  serving.SetLimiterHealthy(true);
  serving.SetServing(true);
  const std::string large_metrics(4 << 20, '#');  // more than any socket buffer takes
  AdminServer admin([&large_metrics] { return large_metrics; }, serving);
  absl::StatusOr<int> port = admin.Start("127.0.0.1:0");
  ASSERT_THAT(port, IsOk());
  const int threads_before = ThreadsOfThisProcess();

  constexpr int kHeld = 64;
  std::vector<std::unique_ptr<HeldConnection>> held;
  for (int i = 0; i < kHeld; ++i) {
    held.push_back(std::make_unique<HeldConnection>(*port));  // idle
    held.push_back(std::make_unique<HeldConnection>(*port));  // half-open request
    ASSERT_TRUE(held.back()->Send("GET /readyz HTTP/1.1\r\nHost: scanner\r\n"));
  }
  for (int i = 0; i < 2; ++i) {  // two slow scrapes, as many as the old server had threads
    held.push_back(std::make_unique<HeldConnection>(*port, 1024));
    ASSERT_TRUE(held.back()->Send("GET /metrics HTTP/1.1\r\nHost: prometheus\r\n\r\n"));
  }
  for (const auto& connection : held) ASSERT_TRUE(connection->connected());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all accepted and read

  httplib::Client client("127.0.0.1", *port);
  client.set_connection_timeout(1);
  client.set_read_timeout(1);
  std::chrono::steady_clock::duration slowest{};
  for (int round = 0; round < 10; ++round) {
    for (const char* path : {"/readyz", "/healthz"}) {
      const auto start = std::chrono::steady_clock::now();
      httplib::Result result = client.Get(path);
      slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
      ASSERT_TRUE(result) << path << ": " << httplib::to_string(result.error());
      EXPECT_EQ(result->status, 200) << path;
    }
  }
  EXPECT_LT(slowest, std::chrono::milliseconds(100));
  EXPECT_EQ(ThreadsOfThisProcess(), threads_before);
}

TEST_F(AdminServerTest, AnswersOnlyGet) {
  absl::StatusOr<int> port = admin_.Start("127.0.0.1:0");
  ASSERT_THAT(port, IsOk());
  httplib::Client client("127.0.0.1", *port);
  httplib::Result post = client.Post("/metrics", "x=1", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  httplib::Result head = client.Head("/healthz");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
}

}  // namespace
}  // namespace ota
