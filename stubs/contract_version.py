"""Checks that stubs/VERSION is a version the client packages may be published under:

  - a semantic version X.Y.Z, not older than the last released contract (stubs/released/LATEST);
  - `buf breaking` (rules from the root buf.yaml) against the image of that release decides the
    bump: an incompatible change needs a higher major version (0.x included: a 0.x contract is
    used by services in production like any other);
  - stubs/CHANGELOG.md has a section `## X.Y.Z` saying what the version added.

    python3 stubs/contract_version.py [PROTO_DIR]      # PROTO_DIR defaults to proto/

Prints what it decided; exits 1, naming the problem, when VERSION may not be published.
"""
import re
import subprocess
import sys
from pathlib import Path

STUBS = Path(__file__).resolve().parent
ROOT = STUBS.parent
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def parse(text, what):
    match = SEMVER.match(text)
    if not match:
        raise SystemExit(f"{what} is {text!r}, not a version X.Y.Z")
    return tuple(int(part) for part in match.groups())


def problems(proto_dir, stubs=STUBS):
    """The reasons VERSION may not be published (empty when it may), and what was decided."""
    version_text = (stubs / "VERSION").read_text().strip()
    latest_text = (stubs / "released" / "LATEST").read_text().strip()
    version = parse(version_text, "stubs/VERSION")
    latest = parse(latest_text, "stubs/released/LATEST")
    found, notes = [], []
    if version < latest:
        found.append(f"stubs/VERSION {version_text} is older than the last release {latest_text}")
    image = stubs / "released" / f"ota-v1-{latest_text}.binpb"
    breaking = subprocess.run(
        ["npx", "--no-install", "buf", "breaking", str(proto_dir), "--against", str(image)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    if breaking.returncode != 0:
        changes = (breaking.stdout + breaking.stderr).strip()
        if version[0] <= latest[0]:
            found.append(f"the contract is incompatible with release {latest_text} (buf breaking), "
                         f"so stubs/VERSION needs a new major version, not {version_text}:\n{changes}")
        else:
            notes.append(f"incompatible with {latest_text} (buf breaking); major version bumped")
    else:
        notes.append(f"compatible with release {latest_text} (buf breaking)")
    changelog = stubs / "CHANGELOG.md"
    headings = re.findall(r"^## (\S+)", changelog.read_text(), flags=re.MULTILINE)
    if version_text not in headings:
        found.append(f"stubs/CHANGELOG.md has no section '## {version_text}' saying what it adds")
    return found, notes


def main():
    proto_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "proto"
    found, notes = problems(proto_dir.resolve())
    version = (STUBS / "VERSION").read_text().strip()
    for note in notes:
        print(f"contract {version}: {note}")
    for problem in found:
        print(f"contract {version}: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
