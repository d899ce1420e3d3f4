// Environment fallbacks for flags: --some-name may also be set as PREFIX_SOME_NAME.
//
// Containers and Kubernetes ConfigMaps configure through the environment; a flag given on the
// command line still wins, because the environment only changes the flag's default. Call before
// absl::ParseCommandLine:
//
//   ota::ApplyEnvironmentFallbacks("ota-gateway", "OTA_", {"listen", "qps"});
//   // OTA_QPS=5 ota-gateway            -> --qps=5
//   // OTA_QPS=5 ota-gateway --qps=8    -> --qps=8
#pragma once

#include <initializer_list>

#include "absl/strings/string_view.h"

namespace ota {

// For each flag name (underscore form) whose variable PREFIX + UPPER(name) is set, parses that
// value into the flag. A value that does not parse ends the program (exit 2) with a message naming
// the variable but not its value, which may carry a password (e.g. a Redis URL).
void ApplyEnvironmentFallbacks(absl::string_view program, absl::string_view prefix,
                               std::initializer_list<const char*> flag_names);

}  // namespace ota
