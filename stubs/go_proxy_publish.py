"""Publishes a Go module version into a directory laid out as a Go module proxy (the GOPROXY protocol,
`go help goproxy`): <module>/@v/list, vX.Y.Z.info, vX.Y.Z.mod and vX.Y.Z.zip. Any static file
server, an object store behind one, or `GOPROXY=file:///path` serves that layout to `go get`.

    python3 stubs/go_proxy_publish.py MODULE_DIR VERSION PROXY_DIR [--dry-run | --check]

MODULE_DIR holds go.mod (whose `module` line is the module path) and the module's files. Refuses a
version the directory already has (published versions are immutable: go.sum pins their hashes);
--check only says whether it has it (exit 3 if so).
"""
import argparse
import json
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

SKIPPED_DIRS = {".git", "vendor", "testdata"}


def module_path(module_dir):
    for line in (module_dir / "go.mod").read_text().splitlines():
        if line.startswith("module "):
            return line.split()[1].strip('"')
    raise SystemExit(f"{module_dir}/go.mod has no module line")


def escape(path):
    """The proxy protocol's case encoding: each upper-case letter becomes '!' + its lower case."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


def module_files(module_dir):
    """The files a module zip holds: everything but VCS folders, nested modules and vendor/."""
    files = []
    for path in sorted(module_dir.rglob("*")):
        relative = path.relative_to(module_dir)
        if any(part in SKIPPED_DIRS for part in relative.parts[:-1]) or not path.is_file():
            continue
        if path.name == "go.mod" and relative.parent != Path("."):
            raise SystemExit(f"{relative}: a nested module cannot be part of this one")
        files.append(relative)
    return files


def publish(module_dir, version, proxy_dir, dry_run=False, check=False):
    module = module_path(module_dir)
    target = proxy_dir / escape(module) / "@v"
    if (target / f"{version}.info").exists():
        print(f"Go module {module}@{version} is already published in {proxy_dir}", file=sys.stderr)
        sys.exit(3)
    if check:
        return
    files = module_files(module_dir)
    if dry_run:
        print(f"would publish Go module {module}@{version} to {target} ({len(files)} files)")
        return
    target.mkdir(parents=True, exist_ok=True)
    prefix = f"{module}@{version}/"
    # Written under a temporary name first, so a reader never sees a half-written zip.
    partial = target / f".{version}.zip.partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in files:
            archive.write(module_dir / relative, prefix + relative.as_posix())
    (target / f"{version}.mod").write_bytes((module_dir / "go.mod").read_bytes())
    partial.rename(target / f"{version}.zip")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    (target / f"{version}.info").write_text(json.dumps({"Version": version, "Time": stamp}) + "\n")
    with open(target / "list", "a", encoding="utf-8") as listing:
        listing.write(version + "\n")
    print(f"published Go module {module}@{version} to {target}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module_dir", type=Path)
    parser.add_argument("version")
    parser.add_argument("proxy_dir", type=Path)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="say what would be published")
    mode.add_argument("--check", action="store_true", help="exit 3 if the version is published")
    args = parser.parse_args()
    if not args.version.startswith("v"):
        sys.exit(f"a Go module version starts with v: {args.version}")
    publish(args.module_dir, args.version, args.proxy_dir, args.dry_run, args.check)


if __name__ == "__main__":
    main()
