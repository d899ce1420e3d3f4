#include "cli_flags/program_help.h"

// Set on this file alone by cli_flags/CMakeLists.txt (at configure time), so a new commit
// recompiles one small file, not the libraries.
#ifndef OTA_BUILD_VERSION
#define OTA_BUILD_VERSION "unknown"
#endif
#ifndef OTA_BUILD_GIT_SHA
#define OTA_BUILD_GIT_SHA "unknown"
#endif

namespace ota {

const char* ProjectVersion() { return OTA_BUILD_VERSION; }
const char* GitCommit() { return OTA_BUILD_GIT_SHA; }

}  // namespace ota
