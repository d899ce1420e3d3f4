#!/usr/bin/env bash
# Builds ota-gateway and ota-bench (Release-with-debug-info) and runs every scenario of the
# performance report (bench/README.md): a table on stdout and bench_report.json. About 2-3 minutes
# on a 2-core machine.
#
#   scripts/bench.sh            # full report
#   scripts/bench.sh --smoke    # a few seconds: proves the tool works (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${OTA_BUILD_DIR:-$ROOT/build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$BUILD_DIR" --target ota-gateway ota-bench -j2
exec "$BUILD_DIR/bench/ota-bench" all --gateway="$BUILD_DIR/server/ota-gateway" \
  --ghz="$ROOT/.tools/bin/ghz" --proto_dir="$ROOT/proto" \
  --report="${OTA_BENCH_REPORT:-$ROOT/bench_report.json}" "$@"
