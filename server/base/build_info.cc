#include "server/base/build_info.h"

#include "cli_flags/program_help.h"

namespace ota {

// The same values --version prints (cli_flags/program_version.cc, set at configure time).
BuildInfo CurrentBuild() { return BuildInfo{.version = ProjectVersion(), .git_sha = GitCommit()}; }

}  // namespace ota
