#include "emulator/fault_injector.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server/testing/status_matchers.h"

namespace ota {
namespace {

using ::ota::testing::IsOk;
using ::testing::Not;

TEST(FaultInjectorTest, NoFaultsByDefault) {
  FaultInjector faults(FaultConfig{});
  for (int i = 0; i < 100; ++i) {
    const FaultDecision d = faults.Draw();
    ASSERT_EQ(d.answer, FaultAnswer::kNone);
    ASSERT_EQ(d.latency, absl::ZeroDuration());
  }
}

TEST(FaultInjectorTest, RateOneAlwaysHitsWithLatencyAndAnswer) {
  FaultInjector faults(FaultConfig{.latency = absl::Milliseconds(5), .status = 503});
  for (int i = 0; i < 50; ++i) {
    const FaultDecision d = faults.Draw();
    ASSERT_EQ(d.answer, FaultAnswer::kStatus);
    ASSERT_EQ(d.status, 503);
    ASSERT_EQ(d.latency, absl::Milliseconds(5));
  }
}

TEST(FaultInjectorTest, RateIsAProbability) {
  FaultInjector faults(FaultConfig{.reset = true, .rate = 0.3});
  int hits = 0;
  constexpr int kDraws = 10000;
  for (int i = 0; i < kDraws; ++i) hits += faults.Draw().answer == FaultAnswer::kReset ? 1 : 0;
  // 0.3 +- 6 standard deviations (sd = sqrt(10000 * 0.3 * 0.7) ~ 46).
  EXPECT_GT(hits, 2700);
  EXPECT_LT(hits, 3300);

  faults.Set(FaultConfig{.garbage = true, .rate = 0.0});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(faults.Draw().answer, FaultAnswer::kNone);
}

TEST(FaultInjectorTest, SetAndResetAtRuntime) {
  FaultInjector faults(FaultConfig{.garbage = true});
  faults.Set(FaultConfig{});
  EXPECT_EQ(faults.Draw().answer, FaultAnswer::kNone);
  faults.Reset();
  EXPECT_EQ(faults.Draw().answer, FaultAnswer::kGarbage);
}

TEST(FaultInjectorTest, ParsesJsonWithDefaultsAndRoundTrips) {
  absl::StatusOr<FaultConfig> config =
      FaultConfigFromJson(R"({"latency": "250ms", "status": 500, "rate": 0.5})");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->latency, absl::Milliseconds(250));
  EXPECT_EQ(config->status, 500);
  EXPECT_FALSE(config->reset);
  EXPECT_DOUBLE_EQ(config->rate, 0.5);

  absl::StatusOr<FaultConfig> again = FaultConfigFromJson(FaultConfigToJson(*config));
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->latency, config->latency);
  EXPECT_EQ(again->status, config->status);
  EXPECT_DOUBLE_EQ(again->rate, config->rate);

  absl::StatusOr<FaultConfig> ms = FaultConfigFromJson(R"({"latency_ms": 1500})");
  ASSERT_THAT(ms, IsOk());
  EXPECT_EQ(ms->latency, absl::Milliseconds(1500));
  EXPECT_DOUBLE_EQ(ms->rate, 1.0);

  absl::StatusOr<FaultConfig> off = FaultConfigFromJson("{}");
  ASSERT_THAT(off, IsOk());
  EXPECT_FALSE(off->Active());
}

TEST(FaultInjectorTest, RejectsInvalidConfigs) {
  for (const char* bad : {R"({"status": 200})", R"({"status": 503, "reset": true})",
                          R"({"reset": true, "garbage": true})", R"({"rate": 1.5})",
                          R"({"rate": -0.1})", R"({"latency": "soon"})", R"({"latency": "-1s"})",
                          R"({"bogus": 1})", R"({"reset": "yes"})", "[1]", "not json"}) {
    EXPECT_THAT(FaultConfigFromJson(bad), Not(IsOk())) << bad;
  }
}

TEST(FaultInjectorTest, InjectedStatusesCarryAlibabaCodes) {
  EXPECT_EQ(InjectedStatusError(503).code, "ServiceUnavailable");
  EXPECT_EQ(InjectedStatusError(500).code, "InternalError");
  EXPECT_EQ(InjectedStatusError(502).code, "InternalError");
  EXPECT_EQ(InjectedStatusError(429).code, "Throttling");
  EXPECT_EQ(InjectedStatusError(503).http_status, 503);
}

TEST(FaultInjectorTest, NewAnswersParseDrawAndRoundTrip) {
  const std::pair<const char*, FaultAnswer> cases[] = {
      {R"({"slow_body": true})", FaultAnswer::kSlowBody},
      {R"({"oversized": true})", FaultAnswer::kOversized},
      {R"({"clock_skew": true})", FaultAnswer::kClockSkew},
  };
  for (const auto& [json, answer] : cases) {
    absl::StatusOr<FaultConfig> config = FaultConfigFromJson(json);
    ASSERT_THAT(config, IsOk()) << json << ": " << config.status();
    EXPECT_TRUE(config->Active()) << json;
    FaultInjector faults(*config);
    EXPECT_EQ(faults.Draw().answer, answer) << json;
    absl::StatusOr<FaultConfig> again = FaultConfigFromJson(FaultConfigToJson(*config));
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(again->slow_body, config->slow_body);
    EXPECT_EQ(again->oversized, config->oversized);
    EXPECT_EQ(again->clock_skew, config->clock_skew);
  }
  for (const char* bad :
       {R"({"slow_body": true, "garbage": true})", R"({"oversized": true, "status": 500})",
        R"({"clock_skew": true, "slow_body": true})", R"({"oversized": 1})"}) {
    EXPECT_THAT(FaultConfigFromJson(bad), Not(IsOk())) << bad;
  }
}

TEST(FaultInjectorTest, ClockSkewAnswersLikeAlibaba) {
  const GatewayError error = ClockSkewError();
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.code, "InvalidTimeStamp.Expired");
}

TEST(FaultInjectorTest, ConfigsPerActionAndAfterApply) {
  absl::StatusOr<std::vector<FaultConfig>> configs = FaultConfigsFromJson(
      R"([{"reset": true, "after_apply": true, "action": "CancelOTAStrategyByJob"},
          {"status": 503, "action": "QueryOTAJob"}])");
  ASSERT_THAT(configs, IsOk()) << configs.status();
  FaultInjector faults(FaultConfig{});
  faults.Set(*configs);
  const FaultDecision cancel = faults.Draw("CancelOTAStrategyByJob");
  EXPECT_EQ(cancel.answer, FaultAnswer::kReset);
  EXPECT_TRUE(cancel.after_apply);
  const FaultDecision query = faults.Draw("QueryOTAJob");
  EXPECT_EQ(query.answer, FaultAnswer::kStatus);
  EXPECT_EQ(query.status, 503);
  EXPECT_FALSE(query.after_apply);
  EXPECT_EQ(faults.Draw("Other").answer, FaultAnswer::kNone) << "no config for every action";
  absl::StatusOr<std::vector<FaultConfig>> round_trip =
      FaultConfigsFromJson(FaultConfigsToJson(faults.GetAll()));
  ASSERT_THAT(round_trip, IsOk());
  ASSERT_EQ(round_trip->size(), 2u);
  EXPECT_EQ((*round_trip)[0].action, "CancelOTAStrategyByJob");
  EXPECT_TRUE((*round_trip)[0].after_apply);

  // A config for one action wins over the one for every action.
  faults.Set(*FaultConfigsFromJson(R"([{"garbage": true}, {"action": "QueryOTAJob"}])"));
  EXPECT_EQ(faults.Draw("CancelOTAStrategyByJob").answer, FaultAnswer::kGarbage);
  EXPECT_EQ(faults.Draw("QueryOTAJob").answer, FaultAnswer::kNone);
  faults.Reset();
  EXPECT_EQ(faults.GetAll().size(), 1u);

  for (const char* bad : {R"({"action": "ListOTAFirmware"})", R"({"action": 1})",
                          R"([{"reset": true}, {"garbage": true}])"}) {
    EXPECT_THAT(FaultConfigsFromJson(bad), Not(IsOk())) << bad;
  }
}

}  // namespace
}  // namespace ota
