#include "server/observability/serving_state.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace ota {
namespace {

// Records what the gRPC health service would be told, with its "all services" semantics.
class RecordingHealth final : public grpc::HealthCheckServiceInterface {
 public:
  void SetServingStatus(const std::string& service_name, bool serving) override {
    status[service_name] = serving;
  }
  void SetServingStatus(bool serving) override {
    for (auto& [name, value] : status) value = serving;
  }
  std::map<std::string, bool> status;
};

TEST(ServingStateTest, StartsNotServingAndMirrorsEveryChangeIntoGrpcHealth) {
  ServingState serving("svc", "svc.limiter");
  EXPECT_FALSE(serving.Get().serving);
  RecordingHealth health;
  serving.AttachHealthService(&health);
  EXPECT_EQ(health.status,
            (std::map<std::string, bool>{{"", false}, {"svc", false}, {"svc.limiter", false}}));
  serving.SetLimiterHealthy(true);
  serving.SetServing(true);
  EXPECT_TRUE(serving.Get().serving);
  EXPECT_TRUE(serving.Get().limiter_healthy);
  EXPECT_EQ(health.status,
            (std::map<std::string, bool>{{"", true}, {"svc", true}, {"svc.limiter", true}}));
  // A degraded limiter does not stop the service.
  serving.SetLimiterHealthy(false);
  EXPECT_TRUE(serving.Get().serving);
  EXPECT_EQ(health.status["svc.limiter"], false);
  EXPECT_EQ(health.status["svc"], true);
}

TEST(ServingStateTest, StateSetBeforeAttachingIsPushedOnAttach) {
  ServingState serving("svc", "svc.limiter");
  serving.SetServing(true);
  RecordingHealth health;
  serving.AttachHealthService(&health);
  EXPECT_TRUE(health.status["svc"]);
  EXPECT_TRUE(health.status[""]);
}

TEST(ServingStateTest, StopServingIsFinal) {
  ServingState serving("svc", "svc.limiter");
  RecordingHealth health;
  serving.AttachHealthService(&health);
  serving.SetServing(true);
  serving.SetLimiterHealthy(true);
  serving.StopServing();
  EXPECT_FALSE(serving.Get().serving);
  EXPECT_FALSE(health.status["svc"]);
  EXPECT_FALSE(health.status["svc.limiter"]);
  // A limiter recovering during the drain changes nothing.
  serving.SetLimiterHealthy(true);
  serving.SetServing(true);
  EXPECT_FALSE(serving.Get().serving);
  EXPECT_FALSE(serving.Get().limiter_healthy);
  EXPECT_FALSE(health.status["svc"]);
}

}  // namespace
}  // namespace ota
