// Which ota-gateway build is running: the version from stubs/VERSION and the git commit the build
// was configured from (cli_flags/CMakeLists.txt reads both at configure time; "unknown" outside a
// git checkout, or pass -DOTA_GIT_SHA=... e.g. in a container build without .git). Reported by the
// ota_gateway_build_info metric and by --version.
//
//   ota::BuildInfo build = ota::CurrentBuild();  // {.version = "0.1.0", .git_sha = "152bf18a0c3d"}
#pragma once

#include <string>

namespace ota {

struct BuildInfo {
  std::string version;
  std::string git_sha;  // "unknown" when built outside a git checkout
};

[[nodiscard]] BuildInfo CurrentBuild();

}  // namespace ota
