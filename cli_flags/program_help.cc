#include "cli_flags/program_help.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace ota {
namespace {

constexpr std::size_t kWidth = 100;
constexpr absl::string_view kHelpIndent = "      ";

absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

std::string Hyphenated(std::string_view name) {
  return absl::StrReplaceAll(Absl(name), {{"_", "-"}});
}
std::string Underscored(std::string_view name) {
  return absl::StrReplaceAll(Absl(name), {{"-", "_"}});
}

bool IsAbseilOwn(const absl::CommandLineFlag& flag) {
  return absl::StrContains(flag.Filename(), "absl/flags/");
}

// What a value of the flag looks like, from its C++ type.
std::string_view Placeholder(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<std::string>()) return "STRING";
  if (flag.IsOfType<absl::Duration>()) return "DURATION";
  if (flag.IsOfType<int>() || flag.IsOfType<std::int64_t>() || flag.IsOfType<std::uint32_t>() ||
      flag.IsOfType<std::uint64_t>()) {
    return "INT";
  }
  if (flag.IsOfType<double>()) return "NUMBER";
  if (flag.IsOfType<std::vector<std::string>>()) return "LIST";
  return "VALUE";
}

// Appends `text` word-wrapped to kWidth, each line starting with `indent`.
void AppendWrapped(std::string& out, std::string_view text,
                   absl::string_view indent = kHelpIndent) {
  for (absl::string_view paragraph : absl::StrSplit(Absl(text), '\n')) {
    std::string line(indent);
    for (absl::string_view word : absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (line.size() > indent.size() && line.size() + 1 + word.size() > kWidth) {
        absl::StrAppend(&out, line, "\n");
        line = std::string(indent);
      }
      if (line.size() > indent.size()) line += ' ';
      absl::StrAppend(&line, word);
    }
    absl::StrAppend(&out, line, "\n");
  }
}

// One flag: "  --name=PLACEHOLDER (default: x)" and its help text below. `entry` is the
// hyphenated name, optionally "name=PLACEHOLDER".
void AppendFlag(std::string& out, std::string_view entry) {
  const std::size_t equals = entry.find('=');
  const std::string_view name = entry.substr(0, equals);
  const std::string_view placeholder =
      equals == std::string_view::npos ? std::string_view() : entry.substr(equals + 1);
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(Underscored(name));
  if (flag == nullptr) {  // a group naming a flag the program does not have: say so, loudly
    absl::StrAppend(&out, "  --", Absl(name), "  (NOT A FLAG OF THIS PROGRAM)\n");
    return;
  }
  absl::StrAppend(&out, "  --", Absl(name));
  const std::string default_value = flag->DefaultValue();
  if (flag->IsOfType<bool>()) {
    if (default_value == "true")
      absl::StrAppend(&out, " (default: true; off: --", Absl(name), "=false)");
  } else {
    absl::StrAppend(&out, "=", Absl(placeholder.empty() ? Placeholder(*flag) : placeholder));
    if (!default_value.empty()) absl::StrAppend(&out, " (default: ", default_value, ")");
  }
  absl::StrAppend(&out, "\n");
  AppendWrapped(out, flag->Help());
}

}  // namespace

std::string VersionLine(std::string_view program) {
  return absl::StrCat(Absl(program), " ", ProjectVersion(), " (git ", GitCommit(), ")\n");
}

std::vector<std::string> ProgramFlagNames() {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsAbseilOwn(*flag) && !flag->IsRetired())
      names.push_back(Hyphenated(std::string_view(name.data(), name.size())));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string RenderHelp(const ProgramHelp& help) {
  std::string out;
  AppendWrapped(
      out, absl::StrCat(Absl(help.program), " ", ProjectVersion(), ": ", Absl(help.summary)), "");
  absl::StrAppend(&out, "\nUsage:\n");
  for (absl::string_view line : absl::StrSplit(Absl(help.usage), '\n')) {
    absl::StrAppend(&out, "  ", line, "\n");
  }
  std::set<std::string, std::less<>> listed;
  for (const FlagGroup& group : help.groups) {
    absl::StrAppend(&out, "\n", Absl(group.title), ":\n");
    for (std::string_view entry : group.flags) {
      AppendFlag(out, entry);
      listed.insert(std::string(entry.substr(0, entry.find('='))));
    }
  }
  std::vector<std::string> others;
  for (const std::string& name : ProgramFlagNames()) {
    if (!listed.contains(name)) others.push_back(name);
  }
  if (!others.empty()) {
    absl::StrAppend(&out, "\nOther flags:\n");
    for (const std::string& name : others) AppendFlag(out, name);
  }
  absl::StrAppend(&out, "\nHelp:\n  --help\n", kHelpIndent, "Print this help and exit.\n",
                  "  --version\n", kHelpIndent,
                  "Print the version and the git commit of this build and exit.\n");
  if (!help.notes.empty()) absl::StrAppend(&out, "\n", Absl(help.notes), "\n");
  return out;
}

std::optional<int> HandleHelpAndVersion(int argc, char** argv, const ProgramHelp& help) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h" || arg == "--helpfull" ||
        arg == "--helpshort") {
      std::fputs(RenderHelp(help).c_str(), stdout);
      return 0;
    }
    if (arg == "--version" || arg == "-version") {
      std::fputs(VersionLine(help.program).c_str(), stdout);
      return 0;
    }
  }
  return std::nullopt;
}

}  // namespace ota
