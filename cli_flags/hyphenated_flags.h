// Hyphenated flag names for our command-line tools.
//
// Abseil flags are named like C++ identifiers (--job_id), while the tools' documented interface
// uses hyphens (--job-id), as most CLIs do. NormalizeFlagNames rewrites "--job-id=x" / "--job-id x"
// to the underscore form before absl::ParseCommandLine sees them, so both spellings work. Only the
// name part of "--name[=value]" arguments is touched, and nothing after a bare "--".
//
//   std::vector<char*> args = ota::NormalizeFlagNames(argc, argv, storage);
//   absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
#pragma once

#include <string>
#include <vector>

namespace ota {

// `storage` owns the rewritten strings and must outlive the returned pointers.
[[nodiscard]] std::vector<char*> NormalizeFlagNames(int argc, char** argv,
                                                    std::vector<std::string>& storage);

}  // namespace ota
