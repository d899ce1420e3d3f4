// Checks a command line against the registered Abseil flags before absl::ParseCommandLine sees it.
//
// absl::ParseCommandLine exits with status 1 on an unknown flag or a value the flag's type cannot
// parse, but ota-cancel promises status 2 for every usage error (1 means "the gateway failed").
// Run it on the output of ota::NormalizeFlagNames (cli_flags/hyphenated_flags.h), so flag names are
// already in their underscore form.
//
//   std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
//   if (absl::Status usage = ota::client::CheckFlagUsage(args); !usage.ok()) {
//     std::cerr << usage.message() << "\n";
//     return 2;
//   }
//   absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
#pragma once

#include <vector>

#include "absl/status/status.h"

namespace ota::client {

// INVALID_ARGUMENT naming the first unknown flag, flag without its value, or value the flag's
// type rejects (flags are shown with hyphens, as documented). args[0] is the program name;
// positional arguments and everything after `--` are not looked at.
[[nodiscard]] absl::Status CheckFlagUsage(const std::vector<char*>& args);

}  // namespace ota::client
