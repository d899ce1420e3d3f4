// --help and --version as users type them, for ota-gateway, ota-cancel and iot-emulator.
//
// Abseil's own --help lists flags under the source file that defines them (build paths included)
// and spells them as C++ identifiers (--job_id); its --version prints how Abseil was compiled.
// HandleHelpAndVersion answers both itself, before absl::ParseCommandLine and before any
// environment fallback (so a default never shows a value taken from the environment, e.g. a
// password): the flags with hyphens, grouped by topic, each with its value's kind and default;
// the version with the git commit the program was built from.
//
//   const ota::ProgramHelp help{
//       .program = "ota-cancel",
//       .summary = "Cancels the dynamic update policy of an OTA update batch via ota-gateway.",
//       .usage = "ota-cancel --target HOST:PORT --job-id ID [flags]",
//       .groups = {{"Call", {"job-id", "iot-instance-id", "timeout"}},
//                  {"Connection", {"target", "tls", "ca-file"}}},
//       .notes = "Exit codes: 0 ok, 2 usage error, ..."};
//   if (std::optional<int> exit_code = ota::HandleHelpAndVersion(argc, argv, help)) {
//     return *exit_code;
//   }
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ota {

struct FlagGroup {
  std::string_view title;
  std::vector<std::string_view> flags;  // hyphenated names, without "--"
};

struct ProgramHelp {
  std::string_view program;
  std::string_view summary;  // one or two sentences
  std::string_view usage;    // one or more lines of synopsis
  std::vector<FlagGroup> groups;
  std::string_view notes;  // printed last: environment, exit codes, examples
};

// "ota-cancel 0.1.0 (git 1a2b3c4d5e6f)": the project version (stubs/VERSION) and the commit the
// build was configured from ("unknown" outside a git checkout unless CMake got -DOTA_GIT_SHA).
[[nodiscard]] std::string VersionLine(std::string_view program);
[[nodiscard]] const char* ProjectVersion();
[[nodiscard]] const char* GitCommit();

// The --help text. Every flag the program links that `help.groups` does not name is listed under
// "Other flags" (Abseil's own --flagfile, --fromenv, ... are left out), so none goes missing;
// the tools' tests check that group stays empty.
[[nodiscard]] std::string RenderHelp(const ProgramHelp& help);

// Flags the program links, hyphenated, Abseil's own left out.
[[nodiscard]] std::vector<std::string> ProgramFlagNames();

// When argv asks for help (--help, -h, --helpfull, --helpshort) or --version before a bare "--",
// prints the answer to stdout and returns the exit code (0); otherwise nullopt.
[[nodiscard]] std::optional<int> HandleHelpAndVersion(int argc, char** argv,
                                                      const ProgramHelp& help);

}  // namespace ota
