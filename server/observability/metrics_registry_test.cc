#include "server/observability/metrics_registry.h"

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(HistogramTest, ValuesLandInTheFirstBucketWhoseBoundIsNotBelowThem) {
  Histogram histogram({0.1, 1, 10});
  histogram.Observe(0);     // le 0.1
  histogram.Observe(0.1);   // le 0.1 (bounds are inclusive)
  histogram.Observe(0.11);  // le 1
  histogram.Observe(10);    // le 10
  histogram.Observe(11);    // +Inf
  histogram.Observe(-1);    // le 0.1
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_THAT(snapshot.upper_bounds, ElementsAre(0.1, 1, 10));
  EXPECT_THAT(snapshot.bucket_counts, ElementsAre(3, 1, 1, 1));
  EXPECT_DOUBLE_EQ(snapshot.sum, 0 + 0.1 + 0.11 + 10 + 11 - 1);
}

TEST(HistogramTest, NanCountsInTheInfBucket) {
  Histogram histogram({1});
  histogram.Observe(std::nan(""));
  EXPECT_THAT(histogram.Snapshot().bucket_counts, ElementsAre(0, 1));
}

TEST(MetricsRegistryTest, SeriesOfOneNameFormOneFamilyInRegistrationOrder) {
  MetricsRegistry registry;
  Counter& ok = registry.AddCounter("calls_total", "Calls.", {{"code", "OK"}});
  Gauge& depth = registry.AddGauge("depth", "Depth.");
  Counter& not_found = registry.AddCounter("calls_total", "Calls.", {{"code", "NOT_FOUND"}});
  ok.Increment();
  ok.Increment(2);
  not_found.Increment();
  depth.Set(5);
  depth.Add(-1.5);
  EXPECT_EQ(ok.value(), 3U);
  EXPECT_EQ(registry.RenderText(),
            "# HELP calls_total Calls.\n"
            "# TYPE calls_total counter\n"
            "calls_total{code=\"OK\"} 3\n"
            "calls_total{code=\"NOT_FOUND\"} 1\n"
            "# HELP depth Depth.\n"
            "# TYPE depth gauge\n"
            "depth 3.5\n");
}

TEST(MetricsRegistryTest, GaugeCallbacksAreReadAtEachScrape) {
  MetricsRegistry registry;
  double value = 1;
  registry.AddGaugeCallback("read_me", "Read at scrape.", {{"k", "v"}}, [&value] { return value; });
  EXPECT_EQ(FindSeries(registry.Snapshot(), "read_me", {{"k", "v"}})->value, 1);
  value = 42;
  EXPECT_EQ(FindSeries(registry.Snapshot(), "read_me", {{"k", "v"}})->value, 42);
}

TEST(MetricsRegistryTest, HistogramRendersWithItsBuckets) {
  MetricsRegistry registry;
  Histogram& histogram = registry.AddHistogram("wait_seconds", "Wait.", {0.5, 2});
  histogram.Observe(0.25);
  histogram.Observe(3);
  EXPECT_EQ(registry.RenderText(),
            "# HELP wait_seconds Wait.\n"
            "# TYPE wait_seconds histogram\n"
            "wait_seconds_bucket{le=\"0.5\"} 1\n"
            "wait_seconds_bucket{le=\"2\"} 1\n"
            "wait_seconds_bucket{le=\"+Inf\"} 2\n"
            "wait_seconds_sum 3.25\n"
            "wait_seconds_count 2\n");
}

using MetricsRegistryDeathTest = ::testing::Test;

TEST(MetricsRegistryDeathTest, MisuseIsRefusedAtRegistration) {
  EXPECT_DEATH(MetricsRegistry().AddCounter("bad-name", "h"), "invalid metric name");
  EXPECT_DEATH(MetricsRegistry().AddCounter("c", "h", {{"__reserved", "x"}}), "invalid label name");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "h", {1}, {{"le", "x"}}), "label named le");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "h", {2, 1}), "strictly ascending");
  EXPECT_DEATH(MetricsRegistry().AddHistogram("h", "h", {1, INFINITY}), "not finite");
  EXPECT_DEATH(MetricsRegistry().AddCounter("c", "h", {{"a", "1"}, {"a", "2"}}), "twice");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("x", "h");
        registry.AddGauge("x", "h");
      },
      "another type");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("x", "h", {{"a", "1"}});
        registry.AddCounter("x", "other help", {{"a", "2"}});
      },
      "another help");
  EXPECT_DEATH(
      {
        MetricsRegistry registry;
        registry.AddCounter("x", "h", {{"a", "1"}});
        registry.AddCounter("x", "h", {{"a", "1"}});
      },
      "registered already");
}

// Writers on several threads while another scrapes: every increment and observation is counted,
// and each scrape is well-formed (under TSan this also checks the hot path is race-free).
TEST(MetricsRegistryTest, ConcurrentUpdatesAndScrapesLoseNothing) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("events_total", "Events.");
  Gauge& gauge = registry.AddGauge("level", "Level.");
  Histogram& histogram = registry.AddHistogram("size", "Size.", {1, 2, 3});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::atomic<bool> writing{true};
  std::thread scraper([&] {
    while (writing.load()) {
      const std::vector<FamilySnapshot> snapshot = registry.Snapshot();
      const SeriesSnapshot* size = FindSeries(snapshot, "size");
      ASSERT_NE(size, nullptr);
      ASSERT_EQ(size->histogram.bucket_counts.size(), 4U);
      EXPECT_THAT(RenderPrometheusText(snapshot), HasSubstr("size_bucket{le=\"+Inf\"}"));
    }
  });
  std::vector<std::thread> writers;
  writers.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Add(1);
        gauge.Add(-1);
        histogram.Observe(static_cast<double>((t + i) % 4));  // 0..3: integers, exact sums
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  writing.store(false);
  scraper.join();

  EXPECT_EQ(counter.value(), static_cast<uint64_t>(kThreads) * kPerThread);
  EXPECT_EQ(gauge.value(), 0);
  const HistogramSnapshot sizes = histogram.Snapshot();
  // (t + i) % 4 over i in [0, 20000) takes each value 5000 times for every t.
  EXPECT_THAT(sizes.bucket_counts,
              ElementsAre(2 * 5000 * kThreads, 5000 * kThreads, 5000 * kThreads, 0));
  EXPECT_EQ(sizes.sum, (0 + 1 + 2 + 3) * 5000.0 * kThreads);
}

}  // namespace
}  // namespace ota
