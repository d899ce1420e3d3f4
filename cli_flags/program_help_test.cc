#include "cli_flags/program_help.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, job_id, "", "Required. The update batch to cancel.");
ABSL_FLAG(absl::Duration, max_wait, absl::Seconds(30), "How long a call may wait for a slot.");
ABSL_FLAG(int, qps, 10, "Requests per second.");
ABSL_FLAG(bool, plaintext, false, "Serve without TLS.");
ABSL_FLAG(bool, keep_alive, true, "Keep connections open.");
ABSL_FLAG(std::string, target, "", "Where to connect.");
ABSL_FLAG(std::string, left_out, "", "A flag no group names.");

namespace ota {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

ProgramHelp TestHelp() {
  return ProgramHelp{
      .program = "test-tool",
      .summary = "Does things.",
      .usage = "test-tool --job-id ID\ntest-tool --version",
      .groups = {{"Call", {"job-id=ID", "max-wait"}},
                 {"Connection", {"target=HOST:PORT", "qps", "plaintext", "keep-alive"}}},
      .notes = "Every flag may also be set as TEST_NAME."};
}

TEST(ProgramHelpTest, ListsFlagsHyphenatedByGroupWithDefaults) {
  const std::string help = RenderHelp(TestHelp());
  EXPECT_THAT(help, HasSubstr(absl::StrCat("test-tool ", ProjectVersion(), ": Does things.")));
  EXPECT_THAT(help, HasSubstr("Usage:\n  test-tool --job-id ID\n  test-tool --version\n"));
  EXPECT_THAT(help,
              HasSubstr("\nCall:\n  --job-id=ID\n      Required. The update batch to cancel.\n"
                        "  --max-wait=DURATION (default: 30s)\n"));
  EXPECT_THAT(help, HasSubstr("\nConnection:\n  --target=HOST:PORT\n"));
  EXPECT_THAT(help, HasSubstr("  --qps=INT (default: 10)\n"));
  EXPECT_THAT(help, HasSubstr("  --plaintext\n      Serve without TLS.\n"));
  EXPECT_THAT(help, HasSubstr("  --keep-alive (default: true; off: --keep-alive=false)\n"));
  EXPECT_THAT(help, HasSubstr("\nOther flags:\n  --left-out=STRING\n"));
  EXPECT_THAT(help, HasSubstr("  --version\n"));
  EXPECT_THAT(help, HasSubstr("\nEvery flag may also be set as TEST_NAME.\n"));
  // Nothing of Abseil's own presentation: no source paths, no underscores, no built-in flags.
  EXPECT_THAT(help,
              AllOf(Not(HasSubstr("Flags from")), Not(HasSubstr(".cc")), Not(HasSubstr("--job_id")),
                    Not(HasSubstr("--flagfile")), Not(HasSubstr("--fromenv"))));
}

TEST(ProgramHelpTest, WrapsLongHelpTexts) {
  const std::string help = RenderHelp(TestHelp());
  for (absl::string_view line : absl::StrSplit(help, '\n')) EXPECT_LE(line.size(), 100U) << line;
}

TEST(ProgramHelpTest, ProgramFlagsLeaveOutAbseilsOwn) {
  const std::vector<std::string> flags = ProgramFlagNames();
  EXPECT_THAT(flags, ::testing::IsSupersetOf({"job-id", "max-wait", "left-out"}));
  EXPECT_THAT(flags, Not(::testing::Contains("flagfile")));
  EXPECT_THAT(flags, Not(::testing::Contains("helpfull")));
}

TEST(ProgramHelpTest, NamesAFlagTheProgramDoesNotHave) {
  ProgramHelp help = TestHelp();
  help.groups.push_back({"Typos", {"job-idd"}});
  EXPECT_THAT(RenderHelp(help), HasSubstr("--job-idd  (NOT A FLAG OF THIS PROGRAM)"));
}

int Handle(std::vector<std::string> args, std::string& out) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ::testing::internal::CaptureStdout();
  std::optional<int> code =
      HandleHelpAndVersion(static_cast<int>(argv.size()), argv.data(), TestHelp());
  out = ::testing::internal::GetCapturedStdout();
  return code.value_or(-1);
}

TEST(ProgramHelpTest, AnswersHelpAndVersionAsTyped) {
  std::string out;
  EXPECT_EQ(Handle({"test-tool", "--version"}, out), 0);
  EXPECT_EQ(out, absl::StrCat("test-tool ", ProjectVersion(), " (git ", GitCommit(), ")\n"));
  EXPECT_STRNE(GitCommit(), "");
  for (const char* help : {"--help", "-h", "--helpfull"}) {
    EXPECT_EQ(Handle({"test-tool", "--qps=3", help}, out), 0);
    EXPECT_THAT(out, HasSubstr("\nCall:\n")) << help;
  }
  EXPECT_EQ(Handle({"test-tool", "--qps=3"}, out), -1);
  EXPECT_EQ(Handle({"test-tool", "--", "--help"}, out), -1);
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace ota
