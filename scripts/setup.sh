#!/usr/bin/env bash
# Installs everything ota-gateway needs to build and test on Debian 12, at pinned versions, then
# configures and builds it. Idempotent: safe to run again. Run as root (or with sudo available).
#
#   scripts/setup.sh            # system packages + tools + build (./build)
#   OTA_SKIP_APT=1 scripts/setup.sh   # skip apt-get (packages already there)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

GRPCURL_VERSION=v1.9.3
GHZ_VERSION=v0.120.0
KUSTOMIZE_VERSION=v5.7.1
BUILD_DIR=${OTA_BUILD_DIR:-$ROOT/build}

log() { printf '\n==> %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

# Debian packages: compiler toolchain, gRPC/Protobuf/Abseil, libcurl (OpenSSL flavour), OpenSSL 3,
# GoogleTest/GoogleMock, hiredis, cpp-httplib (the emulator's HTTP server), libmicrohttpd (the
# gateway's admin port: one event loop, so held connections cost no thread), prometheus-cpp (the
# gateway's metrics registry and text exposition), nlohmann-json,
# redis-server (distributed limiter tests), clang tools, Go/Node/Python for the tooling, nginx and
# Google Benchmark (ota-bench: the loopback upstream and the signer micro-benchmark), gperftools
# (ota-gateway allocates with its tcmalloc_minimal), shellcheck,
# prometheus (its promtool checks deploy/prometheus/alerts.yaml and the Grafana dashboard's queries;
# the server is not used), and buildah, podman, runc and mmdebstrap (scripts/image.sh builds
# deploy/Dockerfile from Debian-made base images without Docker; tests/image runs the image).
APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libcurl4-openssl-dev libssl-dev libgtest-dev libgmock-dev googletest
  libhiredis-dev libcpp-httplib-dev nlohmann-json3-dev redis-server libmicrohttpd-dev
  prometheus-cpp-dev
  clang clang-format clang-tidy libclang-rt-14-dev
  golang-go nodejs npm python3 python3-venv python3-pip
  nginx-light libbenchmark-dev libgoogle-perftools-dev
  shellcheck prometheus
  buildah podman runc mmdebstrap
)
if [ "${OTA_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Go, Node and Python may come from elsewhere on the machine; don't fight them.
  if command -v go >/dev/null; then missing=("${missing[@]/golang-go}"); fi
  if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
  fi
  if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
    missing=("${missing[@]/python3-venv}"); missing=("${missing[@]/python3-pip}"); missing=("${missing[@]/python3}")
  fi
  read -r -a missing <<<"${missing[*]}"
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# npm: buf (proto lint/breaking) and the google.rpc protos, pinned by package-lock.json. Only when
# the lockfile changed since the last install (a stamp records it): `npm ci` rewrites node_modules,
# and the build generates code from the .proto files there, so a needless one rebuilds half the tree.
if ! cmp -s package-lock.json node_modules/.ota-installed-lock 2>/dev/null; then
  log "npm ci (buf, google-proto-files)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.ota-installed-lock
fi

# Go: grpcurl, pinned, installed into ./.tools/bin.
mkdir -p "$ROOT/.tools/bin"
# (`go install` builds report "dev build" as their version, so a stamp file records what we installed.)
if [ "$(cat "$ROOT/.tools/bin/.grpcurl-version" 2>/dev/null)" != "$GRPCURL_VERSION" ]; then
  log "go install grpcurl@${GRPCURL_VERSION}"
  GOBIN="$ROOT/.tools/bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
  echo "$GRPCURL_VERSION" >"$ROOT/.tools/bin/.grpcurl-version"
fi
# ghz (gRPC load tool): the independent cross-check of ota-bench's figures (scripts/bench.sh).
if [ "$(cat "$ROOT/.tools/bin/.ghz-version" 2>/dev/null)" != "$GHZ_VERSION" ]; then
  log "go install ghz@${GHZ_VERSION}"
  GOBIN="$ROOT/.tools/bin" go install "github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}"
  echo "$GHZ_VERSION" >"$ROOT/.tools/bin/.ghz-version"
fi

# kustomize, pinned: tests/deploy renders deploy/kubernetes with it (kustomize.py).
if [ "$(cat "$ROOT/.tools/bin/.kustomize-version" 2>/dev/null)" != "$KUSTOMIZE_VERSION" ]; then
  log "go install kustomize@${KUSTOMIZE_VERSION}"
  GOBIN="$ROOT/.tools/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}"
  echo "$KUSTOMIZE_VERSION" >"$ROOT/.tools/bin/.kustomize-version"
fi

# Python: a venv for the end-to-end tests and the official Alibaba Cloud SDK peer checks.
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  log "python venv .venv"
  python3 -m venv "$ROOT/.venv"
fi
if ! cmp -s tests/requirements.txt "$ROOT/.venv/.requirements.installed" 2>/dev/null; then
  log "pip install -r tests/requirements.txt"
  "$ROOT/.venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt "$ROOT/.venv/.requirements.installed"
fi

log "configure + build ($BUILD_DIR)"
read -r -a extra_cmake_args <<<"${OTA_CMAKE_ARGS:-}"
configure_args=(-S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${extra_cmake_args[@]}")
# Configure again only for other arguments or another commit (build_info reports the commit seen
# at configure time); otherwise the build re-runs CMake itself when a CMakeLists.txt changed, and
# builds nothing when no source did.
configure_stamp="${configure_args[*]} @ $(git rev-parse HEAD 2>/dev/null || echo no-git)"
if [ ! -f "$BUILD_DIR/build.ninja" ] \
  || [ "$(cat "$BUILD_DIR/.ota-configure-stamp" 2>/dev/null)" != "$configure_stamp" ]; then
  cmake "${configure_args[@]}"
  echo "$configure_stamp" >"$BUILD_DIR/.ota-configure-stamp"
fi
cmake --build "$BUILD_DIR"

# Client stubs (stubs/, see stubs/README.md): Java + Maven for the Java package (Debian's, when the
# machine has none), then the pinned code generators (Go proxy, PyPI, Maven Central, npm).
if [ "${OTA_SKIP_APT:-0}" != 1 ] && ! { command -v mvn >/dev/null && command -v javac >/dev/null; }; then
  log "apt-get install maven default-jdk-headless"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends maven default-jdk-headless
fi
log "stubs/install-tools.sh (buf plugins for the client packages)"
stubs/install-tools.sh
