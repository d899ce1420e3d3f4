"""--help and --version of the command-line tools, as a user types them (cli_flags/program_help.h):
flags with hyphens, grouped by topic, with defaults, no build paths, nothing left ungrouped; the
version with the git commit of the build.
"""
import re
import subprocess

import pytest

from conftest import BUILD_DIR, ROOT

TOOLS = {
    "ota-gateway": (BUILD_DIR / "server" / "ota-gateway",
                    ["--max-wait=DURATION (default: 30s)",
                     "--redis-url=URL (default: redis://127.0.0.1:6379/0)", "--plaintext"]),
    "ota-cancel": (BUILD_DIR / "client" / "ota-cancel", ["--job-id=ID", "--timeout=DURATION (default: 10s)", "--json"]),
    "iot-emulator": (BUILD_DIR / "emulator" / "iot-emulator",
                     ["--listen=HOST:PORT (default: 127.0.0.1:18080)", "--fault-latency=DURATION (default: 0)", "--fault-reset"]),
}


def run(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout, out.stderr


@pytest.mark.parametrize("tool", sorted(TOOLS))
@pytest.mark.parametrize("flag", ["--help", "-h", "--helpfull"])
def test_help_lists_hyphenated_flags_by_topic(tool, flag):
    binary, expected = TOOLS[tool]
    code, out, err = run(binary, flag)
    assert code == 0 and err == "", err
    assert out.startswith(f"{tool} "), out
    assert "\nUsage:\n" in out
    for line in expected:
        assert f"\n  {line}\n" in out, (line, out)
    # Every flag sits under a topic: "Other flags" would collect those the tool forgot to group.
    assert "Other flags" not in out and "NOT A FLAG" not in out, out
    groups = re.findall(r"^(\S[^\n]*):\n  --", out, re.M)
    assert len(groups) >= 3, groups
    flags = re.findall(r"^  --([a-z0-9_-]+)", out, re.M)
    assert all("_" not in f for f in flags), flags
    assert len(flags) == len(set(flags)), "a flag listed twice"
    # Nothing of how the binary was built.
    for leak in ("Flags from", str(ROOT), "/tmp/", ".cc", "absl", "NDEBUG"):
        assert leak not in out, leak
    assert max(map(len, out.splitlines())) <= 100


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_version_names_project_version_and_commit(tool):
    code, out, err = run(TOOLS[tool][0], "--version")
    version = (ROOT / "stubs" / "VERSION").read_text().strip()
    assert code == 0 and err == "", err
    assert re.fullmatch(rf"{tool} {re.escape(version)} \(git ([0-9a-f]{{12}}|unknown)\)\n", out), out
    head = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True).stdout.strip()
    if head and "unknown" not in out:
        # The commit CMake saw at configure time: an ancestor of (or equal to) HEAD.
        commit = re.search(r"git ([0-9a-f]{12})", out).group(1)
        assert subprocess.run(["git", "merge-base", "--is-ancestor", commit, "HEAD"],
                              cwd=ROOT).returncode == 0, (commit, head)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_bad_flag_still_points_to_help(tool):
    code, out, err = run(TOOLS[tool][0], "--no-such-flag")
    assert code != 0
    assert "no-such-flag" in err.replace("_", "-")
