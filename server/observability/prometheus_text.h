// Prometheus text exposition (format 0.0.4): turns a snapshot of metric families into the text a
// Prometheus server scrapes from /metrics.
//
// Hand-written on purpose: Debian 12 packages no Prometheus C++ client (prometheus-cpp is not in
// bookworm), and the gateway needs only counters, gauges and fixed-bucket histograms, whose text
// form is a few dozen lines. Vendoring a client would add a dependency outside the pinned
// apt/pip/npm/go set for that. The rules kept here (and pinned by prometheus_text_test.cc and by
// the e2e suite parsing a live scrape with the official Python parser):
//   - one `# HELP` and one `# TYPE` line per family, all of a family's samples together;
//   - HELP text escapes `\` and newline; label values escape `\`, `"` and newline;
//   - a histogram writes `_bucket{le="..."}` counts cumulatively, ending with le="+Inf", then
//     `_sum` and `_count` (equal to the +Inf bucket);
//   - values are the shortest text that reads back as the same double; +Inf, -Inf and NaN are
//     spelled that way.
//
//   ota::FamilySnapshot calls{.name = "ota_gateway_calls_total", .help = "Calls answered.",
//                             .type = ota::MetricType::kCounter,
//                             .series = {{.labels = {{"code", "OK"}}, .value = 3}}};
//   std::string body = ota::RenderPrometheusText({calls});
//   // # HELP ota_gateway_calls_total Calls answered.
//   // # TYPE ota_gateway_calls_total counter
//   // ota_gateway_calls_total{code="OK"} 3
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ota {

// The Content-Type a /metrics answer in this format carries.
inline constexpr char kPrometheusTextContentType[] = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram };

// Label name/value pairs of one series, written in this order.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

struct HistogramSnapshot {
  std::vector<double> upper_bounds;  // finite, strictly ascending; the +Inf bucket is implied
  // Observations per bucket, NOT cumulative: bucket_counts[i] counts values in
  // (upper_bounds[i-1], upper_bounds[i]]; the last element (index upper_bounds.size()) counts
  // values above the highest bound. Size: upper_bounds.size() + 1.
  std::vector<uint64_t> bucket_counts;
  double sum = 0;
};

struct SeriesSnapshot {
  MetricLabels labels;
  double value = 0;             // counters and gauges
  HistogramSnapshot histogram;  // histograms
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<SeriesSnapshot> series;
};

// The series of family `name` with exactly `labels`, or nullptr (for tests and probes that read
// one value back).
[[nodiscard]] const SeriesSnapshot* FindSeries(const std::vector<FamilySnapshot>& families,
                                               std::string_view name,
                                               const MetricLabels& labels = {});

// The whole exposition. Families are written in the order given; the caller keeps names unique.
[[nodiscard]] std::string RenderPrometheusText(const std::vector<FamilySnapshot>& families);

// "3", "0.25", "1e-05", "+Inf", "-Inf", "NaN".
[[nodiscard]] std::string FormatPrometheusValue(double value);
// Escapes `\` as `\\`, `"` as `\"` and newline as `\n`.
[[nodiscard]] std::string EscapePrometheusLabelValue(std::string_view value);
// Escapes `\` as `\\` and newline as `\n` (HELP text keeps its quotes).
[[nodiscard]] std::string EscapePrometheusHelp(std::string_view help);

// Metric names match [a-zA-Z_:][a-zA-Z0-9_:]*; label names [a-zA-Z_][a-zA-Z0-9_]* and must not
// start with "__" (reserved for Prometheus itself).
[[nodiscard]] bool IsValidPrometheusMetricName(std::string_view name);
[[nodiscard]] bool IsValidPrometheusLabelName(std::string_view name);

}  // namespace ota
