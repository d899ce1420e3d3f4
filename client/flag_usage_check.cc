#include "client/flag_usage_check.h"

#include <algorithm>
#include <string>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace ota::client {
namespace {

absl::CommandLineFlag* FindFlag(absl::string_view name) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && !flag->IsRetired() ? flag : nullptr;
}

// Abseil's own usage flags (--help, --helpfull, --version, ...) are handled inside
// absl::ParseCommandLine and are not in the flag registry.
bool IsAbseilUsageFlag(absl::string_view name) {
  return absl::StartsWith(name, "help") || name == "version" || name == "only_check_args";
}

// The documented spelling, for messages.
std::string Shown(absl::string_view name) {
  std::string shown = absl::StrCat("--", name);
  std::replace(shown.begin(), shown.end(), '_', '-');
  return shown;
}

// What a duration flag needs, in place of Abseil's terse parse error. "5" is the usual slip.
std::string DurationHint(absl::string_view value) {
  double number = 0;
  if (absl::SimpleAtod(value, &number)) {
    return absl::StrCat("a duration needs a unit, e.g. ", value, "s or ", value, "ms");
  }
  return "not a duration; write a number with a unit, e.g. 500ms, 10s or 1m";
}

}  // namespace

absl::Status CheckFlagUsage(const std::vector<char*>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const absl::string_view arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // positional; the caller decides
    const absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    const std::size_t eq = body.find('=');
    const absl::string_view name = body.substr(0, eq);

    if (IsAbseilUsageFlag(name)) continue;
    if (absl::CommandLineFlag* flag = FindFlag(name)) {
      std::string value;
      if (eq != absl::string_view::npos) {
        value = std::string(body.substr(eq + 1));
      } else if (flag->IsOfType<bool>()) {
        continue;
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag ", Shown(name), " needs a value"));
      }
      // Parsing only validates here: absl::ParseCommandLine sets the same value again.
      std::string error;
      if (!flag->ParseFrom(value, &error)) {
        if (flag->IsOfType<absl::Duration>()) error = DurationHint(value);
        return absl::InvalidArgumentError(
            absl::StrCat("bad value '", value, "' for flag ", Shown(name), ": ", error));
      }
      continue;
    }
    // `--noFLAG` switches a boolean flag off.
    if (absl::StartsWith(name, "no") && eq == absl::string_view::npos) {
      if (absl::CommandLineFlag* flag = FindFlag(name.substr(2));
          flag != nullptr && flag->IsOfType<bool>()) {
        continue;
      }
    }
    return absl::InvalidArgumentError(absl::StrCat("unknown flag ", Shown(name)));
  }
  return absl::OkStatus();
}

}  // namespace ota::client
