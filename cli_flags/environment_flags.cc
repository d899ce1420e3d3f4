#include "cli_flags/environment_flags.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace ota {

void ApplyEnvironmentFallbacks(absl::string_view program, absl::string_view prefix,
                               std::initializer_list<const char*> flag_names) {
  for (const char* name : flag_names) {
    const std::string variable = absl::StrCat(prefix, absl::AsciiStrToUpper(name));
    // Start-up only, before any thread exists.
    const char* value = std::getenv(variable.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "%s: environment variable %s does not parse as --%s\n",
                   std::string(program).c_str(), variable.c_str(), name);
      std::exit(2);  // NOLINT(concurrency-mt-unsafe): start-up, single-threaded
    }
  }
}

}  // namespace ota
