#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang, ASan+UBSan) in their own build directory and runs
# each one for a while, one after the other.
#
#   scripts/fuzz.sh            # 30 s per target
#   scripts/fuzz.sh 600        # 10 min per target (see fuzz/README.md for longer runs)
#   OTA_FUZZ_TARGETS="rpc_signer" scripts/fuzz.sh 60
#
# Each target starts from the hand-written seeds in fuzz/corpus/<target>/ plus what earlier runs
# found, which is kept merged (minimized) in $OTA_FUZZ_BUILD_DIR/corpus/<target>/, never in the
# source tree. A crash or broken invariant stops the script with the input's path and the command
# that replays it; turn it into a unit test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SECONDS_PER_TARGET=${1:-30}
BUILD=${OTA_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
TARGETS=${OTA_FUZZ_TARGETS:-request_validator list_request upstream_reply rpc_signer emulator_request}

log() { printf '\n==> %s\n' "$*"; }

# Input size caps: well above anything the code under test handles specially (IDs are <= 64
# bytes, Alibaba's messages are cut at 400), small enough to keep executions fast.
max_len() {
  case "$1" in
    request_validator) echo 512 ;;
    list_request) echo 512 ;;
    upstream_reply) echo 4096 ;;
    rpc_signer) echo 1024 ;;
    emulator_request) echo 2048 ;;
    *) echo 1024 ;;
  esac
}

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
log "configure and build the fuzz targets ($BUILD)"
CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DOTA_FUZZ=ON "${launcher[@]}" >/dev/null
cmake --build "$BUILD" --target ota_fuzzers

summary=()
for target in $TARGETS; do
  binary="$BUILD/fuzz/${target}_fuzzer"
  corpus="$BUILD/corpus/$target"
  artifacts="$BUILD/artifacts/$target"
  log_file="$BUILD/logs/$target.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log_file")"
  dict=()
  [ -f "fuzz/$target.dict" ] && dict=(-dict="fuzz/$target.dict")

  log "$target: fuzzing for ${SECONDS_PER_TARGET}s (log: $log_file)"
  status=0
  "$binary" -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$target")" -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
    "$corpus" "fuzz/corpus/$target" >"$log_file" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    grep -E 'invariant broken|ERROR: |SUMMARY: |runtime error|Test unit written' "$log_file" | head -20 || true
    newest=$(find "$artifacts" -type f -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
    echo "$target FAILED (exit $status). Replay with: $binary $newest"
    exit 1
  fi

  # Keep only inputs that add coverage, so the kept corpus stays small across runs.
  merged="$BUILD/corpus/$target.merged"
  rm -rf "$merged" && mkdir -p "$merged"
  "$binary" -merge=1 -max_len="$(max_len "$target")" "$merged" "$corpus" "fuzz/corpus/$target" \
    >>"$log_file" 2>&1
  rm -rf "$corpus" && mv "$merged" "$corpus"

  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log_file" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  summary+=("$(printf '%-18s %6ss %12s execs %6s inputs %9s bytes  0 crashes' \
    "$target" "$SECONDS_PER_TARGET" "${runs:-?}" "$files" "$bytes")")
done

log "fuzzing summary (corpus = merged, in $BUILD/corpus)"
printf '%s\n' "${summary[@]}"
