#include "server/base/build_info.h"

// Set on this file alone by server/CMakeLists.txt (at configure time), so a new value recompiles
// one small file, not the libraries.
#ifndef OTA_BUILD_VERSION
#define OTA_BUILD_VERSION "unknown"
#endif
#ifndef OTA_BUILD_GIT_SHA
#define OTA_BUILD_GIT_SHA "unknown"
#endif

namespace ota {

BuildInfo CurrentBuild() {
  return BuildInfo{.version = OTA_BUILD_VERSION, .git_sha = OTA_BUILD_GIT_SHA};
}

}  // namespace ota
