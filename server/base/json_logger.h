// JsonLogger: one JSON object per line on stderr, for people and log pipelines alike.
//
//   ota::Log(ota::LogLevel::kInfo, "call finished",
//            {{"job_id", "J1"}, {"code", "OK"}, {"latency_ms", 12.5}});
// prints
//   {"time":"2026-11-25T17:41:50.123456Z","level":"info","msg":"call finished","job_id":"J1",...}
//
// Lines are written whole under a mutex, so concurrent calls never interleave. Callers must not
// pass secrets: nothing here can tell a secret from any other string.
#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace ota {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Parses "debug", "info", "warning" (or "warn"), "error".
[[nodiscard]] absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
void SetMinLogLevel(LogLevel level);
[[nodiscard]] bool LogEnabled(LogLevel level);

// Fields are written after time, level and msg, in the order given.
void Log(LogLevel level, absl::string_view message, const nlohmann::ordered_json& fields = {});

}  // namespace ota
