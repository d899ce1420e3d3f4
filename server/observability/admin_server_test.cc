#include "server/observability/admin_server.h"

#include <httplib.h>

#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/observability/prometheus_text.h"
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
  EXPECT_EQ(metrics->get_header_value("Content-Type"), kPrometheusTextContentType);
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

}  // namespace
}  // namespace ota
