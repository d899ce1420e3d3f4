#!/usr/bin/env bash
# Installs the pinned code generators that stubs/generate.sh runs as *local* buf plugins (buf never
# fetches a remote plugin), each from its own language's registry. Idempotent and quick when
# everything is in place (stamp files record what was installed). Called by scripts/setup.sh and by
# stubs/generate.sh.
#
#   Go proxy:      protoc-gen-go, protoc-gen-go-grpc          -> .tools/bin
#   PyPI:          grpcio-tools (protoc + grpc_python built in), twine -> .tools/stubs-python (a venv)
#   Maven Central: protoc (for Java messages, matching protobuf-java) and protoc-gen-grpc-java
#                  -> .tools/bin; their versions live in stubs/java/pom.xml
#   npm:           @bufbuild/protoc-gen-es                     -> stubs/node/node_modules (lockfile)
set -euo pipefail
STUBS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$STUBS")
TOOLS=$ROOT/.tools
BIN=$TOOLS/bin

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.1

log() { printf '\n==> %s\n' "$*"; }
mkdir -p "$BIN"

# `go install` binaries report no useful version, so a stamp file records what was installed.
go_tool() {  # name module version
  if [ "$(cat "$BIN/.$1-version" 2>/dev/null)" != "$3" ] || [ ! -x "$BIN/$1" ]; then
    log "go install $2@$3"
    GOBIN="$BIN" GOFLAGS=-buildvcs=false go install "$2@$3"
    echo "$3" >"$BIN/.$1-version"
  fi
}
go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"

PYVENV=$TOOLS/stubs-python
if [ ! -x "$PYVENV/bin/python" ]; then
  log "python venv $PYVENV"
  python3 -m venv "$PYVENV"
fi
if ! cmp -s "$STUBS/python/requirements-tools.txt" "$PYVENV/.requirements.installed" 2>/dev/null; then
  log "pip install -r stubs/python/requirements-tools.txt"
  "$PYVENV/bin/pip" install -q --disable-pip-version-check -r "$STUBS/python/requirements-tools.txt"
  cp "$STUBS/python/requirements-tools.txt" "$PYVENV/.requirements.installed"
fi

# The pom's fetch-codegen-tools execution copies both executables at the versions the jar is built
# against, so generator and runtime can't drift apart.
if ! cmp -s "$STUBS/java/pom.xml" "$BIN/.java-codegen.pom" 2>/dev/null || [ ! -x "$BIN/protoc-gen-grpc-java" ] \
  || [ ! -x "$BIN/protoc-java" ]; then
  log "mvn dependency:copy (protoc, protoc-gen-grpc-java)"
  mvn -q -B -Dstyle.color=never -f "$STUBS/java/pom.xml" dependency:copy@fetch-codegen-tools -Dcodegen.dir="$BIN" -Drevision=0
  mv -f "$BIN"/protoc-gen-grpc-java-*-linux-x86_64.exe "$BIN/protoc-gen-grpc-java"
  mv -f "$BIN"/protoc-*-linux-x86_64.exe "$BIN/protoc-java"
  chmod +x "$BIN/protoc-gen-grpc-java" "$BIN/protoc-java"
  cp "$STUBS/java/pom.xml" "$BIN/.java-codegen.pom"
fi

if ! cmp -s "$STUBS/node/package-lock.json" "$STUBS/node/node_modules/.ota-installed-lock" 2>/dev/null; then
  log "npm ci (stubs/node: @bufbuild/protoc-gen-es)"
  (cd "$STUBS/node" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$STUBS/node/package-lock.json" "$STUBS/node/node_modules/.ota-installed-lock"
fi
