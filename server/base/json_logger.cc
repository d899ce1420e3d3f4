#include "server/base/json_logger.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ota {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mu;

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level '", text, "': use debug, info, warning or error"));
}

void SetMinLogLevel(LogLevel level) { g_min_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

void Log(LogLevel level, absl::string_view message, const nlohmann::ordered_json& fields) {
  if (!LogEnabled(level)) return;
  // The line is assembled as text rather than as one more JSON object: copying every field into a
  // new object cost more than the rest of the per-call log line (measured with ota-bench).
  // `replace` keeps a line valid JSON even if a field carries invalid UTF-8 (e.g. a caller's id).
  constexpr auto kReplace = nlohmann::ordered_json::error_handler_t::replace;
  std::string text = absl::StrCat(
      R"({"time":")", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone()),
      R"(","level":")", LevelName(level), R"(","msg":)",
      nlohmann::ordered_json(message).dump(-1, ' ', false, kReplace));
  if (fields.is_object() && !fields.empty()) {
    std::string rest = fields.dump(-1, ' ', false, kReplace);
    rest[0] = ',';  // the fields' own '{' becomes the separator after "msg"
    text += rest;
  } else {
    text.push_back('}');
  }
  text.push_back('\n');
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ota
