#!/usr/bin/env bash
# Builds every client package (stubs/build-packages.sh: buf generate + wheel, Go module, Maven jar,
# npm tarball, descriptor set), publishes them with stubs/publish.sh to registry servers the tests
# start (pypiserver, verdaccio, a file:// Maven repository, a GOPROXY-layout directory), installs
# each from there into a clean consumer the way its users do, and proves it with live calls against
# a real ota-gateway + iot-emulator, each in its own language and test runner (pytest in a fresh
# venv + mypy, go test, Maven Surefire/JUnit, node --test + tsc, a CMake find_package consumer of the
# installed C++ package), plus grpcurl -protoset, buf breaking and the version rule.
# Exits non-zero on any failure; every runner's own summary is printed.
#
#   stubs/test.sh                       # gateway + emulator from ./build (scripts/setup.sh builds them)
#   OTA_BUILD_DIR=build-x stubs/test.sh  # ... from another build dir
set -euo pipefail
STUBS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$STUBS")
export OTA_BUILD_DIR=${OTA_BUILD_DIR:-$ROOT/build}
export OTA_GRPCURL=${OTA_GRPCURL:-$ROOT/.tools/bin/grpcurl}
case $OTA_BUILD_DIR in /*) ;; *) OTA_BUILD_DIR=$ROOT/$OTA_BUILD_DIR ;; esac

for binary in "$OTA_BUILD_DIR/server/ota-gateway" "$OTA_BUILD_DIR/emulator/iot-emulator" "$OTA_GRPCURL" \
  "$ROOT/.venv/bin/python" "$ROOT/.venv/bin/pypi-server" "$ROOT/node_modules/.bin/verdaccio"; do
  if [ ! -x "$binary" ]; then
    echo "stubs/test.sh: $binary is missing: run scripts/setup.sh first" >&2
    exit 1
  fi
done

"$STUBS/build-packages.sh"

printf '\n==> live tests (stubs/tests/test_live_stubs.py)\n'
cd "$ROOT"
PYTHONDONTWRITEBYTECODE=1 "$ROOT/.venv/bin/python" -m pytest -v -s -p no:cacheprovider \
  "$STUBS/tests/test_live_stubs.py"
