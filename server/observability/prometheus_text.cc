#include "server/observability/prometheus_text.h"

#include <array>
#include <charconv>
#include <cmath>

namespace ota {
namespace {

constexpr std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AppendLabels(std::string& out, const MetricLabels& labels,
                  const std::pair<std::string_view, std::string_view>* extra = nullptr) {
  if (labels.empty() && extra == nullptr) return;
  out.push_back('{');
  bool first = true;
  auto append_one = [&](std::string_view name, std::string_view value) {
    if (!first) out.push_back(',');
    first = false;
    out.append(name);
    out.append("=\"");
    out.append(EscapePrometheusLabelValue(value));
    out.push_back('"');
  };
  for (const auto& [name, value] : labels) append_one(name, value);
  if (extra != nullptr) append_one(extra->first, extra->second);
  out.push_back('}');
}

void AppendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const MetricLabels& labels, double value,
                  const std::pair<std::string_view, std::string_view>* extra = nullptr) {
  out.append(name);
  out.append(suffix);
  AppendLabels(out, labels, extra);
  out.push_back(' ');
  out.append(FormatPrometheusValue(value));
  out.push_back('\n');
}

void AppendHistogram(std::string& out, std::string_view name, const SeriesSnapshot& series) {
  const HistogramSnapshot& histogram = series.histogram;
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= histogram.upper_bounds.size(); ++i) {
    if (i < histogram.bucket_counts.size()) cumulative += histogram.bucket_counts[i];
    const std::string bound = i < histogram.upper_bounds.size()
                                  ? FormatPrometheusValue(histogram.upper_bounds[i])
                                  : std::string("+Inf");
    const std::pair<std::string_view, std::string_view> le{"le", bound};
    AppendSample(out, name, "_bucket", series.labels, static_cast<double>(cumulative), &le);
  }
  AppendSample(out, name, "_sum", series.labels, histogram.sum);
  AppendSample(out, name, "_count", series.labels, static_cast<double>(cumulative));
}

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string FormatPrometheusValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Shortest text that reads back as the same double (Go's ParseFloat, which Prometheus uses,
  // reads every form to_chars writes).
  std::array<char, 32> buffer{};
  const std::to_chars_result result =
      std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

std::string EscapePrometheusLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string EscapePrometheusHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool IsValidPrometheusMetricName(std::string_view name) {
  if (name.empty() || !(IsNameStart(name[0]) || name[0] == ':')) return false;
  for (char c : name) {
    if (!IsNameStart(c) && !IsDigit(c) && c != ':') return false;
  }
  return true;
}

bool IsValidPrometheusLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0]) || name.starts_with("__")) return false;
  for (char c : name) {
    if (!IsNameStart(c) && !IsDigit(c)) return false;
  }
  return true;
}

const SeriesSnapshot* FindSeries(const std::vector<FamilySnapshot>& families, std::string_view name,
                                 const MetricLabels& labels) {
  for (const FamilySnapshot& family : families) {
    if (family.name != name) continue;
    for (const SeriesSnapshot& series : family.series) {
      if (series.labels == labels) return &series;
    }
  }
  return nullptr;
}

std::string RenderPrometheusText(const std::vector<FamilySnapshot>& families) {
  std::string out;
  for (const FamilySnapshot& family : families) {
    out.append("# HELP ").append(family.name).push_back(' ');
    out.append(EscapePrometheusHelp(family.help)).push_back('\n');
    out.append("# TYPE ").append(family.name).push_back(' ');
    out.append(TypeName(family.type)).push_back('\n');
    for (const SeriesSnapshot& series : family.series) {
      if (family.type == MetricType::kHistogram) {
        AppendHistogram(out, family.name, series);
      } else {
        AppendSample(out, family.name, "", series.labels, series.value);
      }
    }
  }
  return out;
}

}  // namespace ota
