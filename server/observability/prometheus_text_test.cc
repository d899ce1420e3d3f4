#include "server/observability/prometheus_text.h"

#include <cmath>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ota {
namespace {

using ::testing::HasSubstr;

TEST(FormatPrometheusValueTest, ShortestRoundTripAndSpecialValues) {
  EXPECT_EQ(FormatPrometheusValue(0), "0");
  EXPECT_EQ(FormatPrometheusValue(3), "3");
  EXPECT_EQ(FormatPrometheusValue(-2), "-2");
  EXPECT_EQ(FormatPrometheusValue(0.25), "0.25");
  EXPECT_EQ(FormatPrometheusValue(0.005), "0.005");
  EXPECT_EQ(FormatPrometheusValue(1e-05), "1e-05");
  EXPECT_EQ(FormatPrometheusValue(1800000123), "1800000123");
  EXPECT_EQ(FormatPrometheusValue(1786000000), "1.786e+09");
  EXPECT_EQ(FormatPrometheusValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatPrometheusValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatPrometheusValue(std::nan("")), "NaN");
  // Reads back as the same double.
  const double third = 1.0 / 3.0;
  EXPECT_EQ(std::stod(FormatPrometheusValue(third)), third);
}

TEST(EscapeTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapePrometheusLabelValue(R"(a\b"c)"
                                       "\n"
                                       "d"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(EscapePrometheusLabelValue("plain text, ok"), "plain text, ok");
}

TEST(EscapeTest, HelpEscapesBackslashAndNewlineButKeepsQuotes) {
  EXPECT_EQ(EscapePrometheusHelp("say \"hi\"\\\nbye"), R"(say "hi"\\\nbye)");
}

TEST(NameTest, MetricAndLabelNames) {
  EXPECT_TRUE(IsValidPrometheusMetricName("ota_gateway_calls_total"));
  EXPECT_TRUE(IsValidPrometheusMetricName("job:rate5m"));
  EXPECT_TRUE(IsValidPrometheusMetricName("_x"));
  EXPECT_FALSE(IsValidPrometheusMetricName(""));
  EXPECT_FALSE(IsValidPrometheusMetricName("1abc"));
  EXPECT_FALSE(IsValidPrometheusMetricName("a-b"));
  EXPECT_FALSE(IsValidPrometheusMetricName("a b"));
  EXPECT_TRUE(IsValidPrometheusLabelName("code"));
  EXPECT_TRUE(IsValidPrometheusLabelName("_x1"));
  EXPECT_FALSE(IsValidPrometheusLabelName("__name__"));
  EXPECT_FALSE(IsValidPrometheusLabelName("a:b"));
  EXPECT_FALSE(IsValidPrometheusLabelName("9a"));
  EXPECT_FALSE(IsValidPrometheusLabelName(""));
}

TEST(RenderPrometheusTextTest, CounterAndGaugeFamilies) {
  const std::vector<FamilySnapshot> families = {
      {.name = "calls_total",
       .help = "Calls answered.",
       .type = MetricType::kCounter,
       .series = {{.labels = {{"code", "OK"}}, .value = 3, .histogram = {}},
                  {.labels = {{"code", "NOT_FOUND"}}, .value = 0, .histogram = {}}}},
      {.name = "expiry_seconds",
       .help = "Line one\nline \\two",
       .type = MetricType::kGauge,
       .series = {{.labels = {},
                   .value = std::numeric_limits<double>::infinity(),
                   .histogram = {}}}},
  };
  EXPECT_EQ(RenderPrometheusText(families),
            "# HELP calls_total Calls answered.\n"
            "# TYPE calls_total counter\n"
            "calls_total{code=\"OK\"} 3\n"
            "calls_total{code=\"NOT_FOUND\"} 0\n"
            "# HELP expiry_seconds Line one\\nline \\\\two\n"
            "# TYPE expiry_seconds gauge\n"
            "expiry_seconds +Inf\n");
}

TEST(RenderPrometheusTextTest, LabelValuesAreEscapedInSamples) {
  const std::vector<FamilySnapshot> families = {
      {.name = "info",
       .help = "h",
       .type = MetricType::kGauge,
       .series = {{.labels = {{"a", "x\"y"}, {"b", "1\\2\n3"}}, .value = 1, .histogram = {}}}}};
  EXPECT_THAT(RenderPrometheusText(families), HasSubstr("info{a=\"x\\\"y\",b=\"1\\\\2\\n3\"} 1\n"));
}

TEST(RenderPrometheusTextTest, HistogramBucketsAreCumulativeEndingWithInf) {
  FamilySnapshot latency{
      .name = "latency_seconds", .help = "Latency.", .type = MetricType::kHistogram, .series = {}};
  latency.series.push_back(SeriesSnapshot{
      .labels = {{"path", "a"}},
      .value = 0,
      .histogram = {.upper_bounds = {0.1, 1}, .bucket_counts = {2, 0, 3}, .sum = 7.5}});
  EXPECT_EQ(RenderPrometheusText({latency}),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{path=\"a\",le=\"0.1\"} 2\n"
            "latency_seconds_bucket{path=\"a\",le=\"1\"} 2\n"
            "latency_seconds_bucket{path=\"a\",le=\"+Inf\"} 5\n"
            "latency_seconds_sum{path=\"a\"} 7.5\n"
            "latency_seconds_count{path=\"a\"} 5\n");
}

TEST(RenderPrometheusTextTest, UnlabelledHistogramHasOnlyLe) {
  const std::vector<FamilySnapshot> families = {
      {.name = "h",
       .help = "x",
       .type = MetricType::kHistogram,
       .series = {{.labels = {},
                   .value = 0,
                   .histogram = {.upper_bounds = {1}, .bucket_counts = {0, 0}, .sum = 0}}}}};
  EXPECT_EQ(RenderPrometheusText(families),
            "# HELP h x\n# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

TEST(FindSeriesTest, FindsByNameAndExactLabels) {
  const std::vector<FamilySnapshot> families = {
      {.name = "c",
       .help = "h",
       .type = MetricType::kCounter,
       .series = {{.labels = {{"code", "OK"}}, .value = 4, .histogram = {}}}}};
  const SeriesSnapshot* found = FindSeries(families, "c", {{"code", "OK"}});
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->value, 4);
  EXPECT_EQ(FindSeries(families, "c", {{"code", "NOT_FOUND"}}), nullptr);
  EXPECT_EQ(FindSeries(families, "c"), nullptr);
  EXPECT_EQ(FindSeries(families, "d", {{"code", "OK"}}), nullptr);
}

}  // namespace
}  // namespace ota
