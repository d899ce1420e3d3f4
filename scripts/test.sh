#!/usr/bin/env bash
# Sets up (scripts/setup.sh), builds and runs every test of ota-gateway:
#   1. format check (clang-format), static analysis (clang-tidy) and contract lint (buf lint, STANDARD)
#   2. unit + end-to-end tests (ctest: GoogleTest binaries, then pytest suites that start the real
#      iot-emulator and ota-gateway and call them with grpcurl, ota-cancel and the official
#      Alibaba Cloud Python SDKs), then the container image built from deploy/Dockerfile with
#      buildah and run with podman (scripts/image.sh, tests/image), then every libFuzzer harness
#      of fuzz/ for 15 s (clang build of its own, build-fuzz/)
#   3. the client packages for Python, Go, Java, Node/TypeScript and C++ (stubs/test.sh): built,
#      published with stubs/publish.sh to registry servers it starts (pypiserver, verdaccio, a
#      Maven repository, a Go module proxy), installed from them the way their users install
#      them, and proven by live calls in each language
#   4. a smoke run of the benchmark tool (the full report is scripts/bench.sh) and a 45 s soak
#      (scripts/soak.sh) that fails on memory or fd growth
#   5. the unit tests again under ASan+UBSan and under TSan
#
#   scripts/test.sh                  # everything
#   OTA_SKIP_SANITIZERS=1 scripts/test.sh   # quicker local loop
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=${OTA_JOBS:-$(nproc)}

log() { printf '\n==> %s\n' "$*"; }

scripts/setup.sh

log "clang-format check"
mapfile -t sources < <(git ls-files '*.cc' '*.h')
clang-format --dry-run -Werror "${sources[@]}"

log "clang-tidy (.clang-tidy, warnings are errors) on every non-test source"
mapfile -t tidy_sources < <(git ls-files 'server/*.cc' 'client/*.cc' 'emulator/*.cc' 'cli_flags/*.cc' 'bench/*.cc' | grep -v '_test\.cc$')
printf '%s\n' "${tidy_sources[@]}" | xargs -P "$JOBS" -n 4 clang-tidy -p "$ROOT/build" --quiet

log "buf lint (STANDARD)"
npx --no-install buf lint

log "yamllint (.yamllint) on every YAML file"
mapfile -t yaml_files < <(git ls-files '*.yaml' '*.yml' '*.yaml.example' '.yamllint')
"$ROOT/.venv/bin/yamllint" --strict "${yaml_files[@]}"

log "shellcheck on every shell script"
mapfile -t shell_scripts < <(git ls-files | while read -r f; do
  [ -f "$f" ] && head -n1 "$f" | grep -Eq '^#!.*\b(ba)?sh\b' && echo "$f"; done)
shellcheck "${shell_scripts[@]}"

log "ctest: unit + end-to-end"
ctest --test-dir "$ROOT/build" --output-on-failure -j "$JOBS"

log "container image: deploy/Dockerfile built with buildah (scripts/image.sh) and run (tests/image)"
scripts/image.sh
"$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider tests/image

log "fuzz harnesses, briefly (scripts/fuzz.sh; longer runs: fuzz/README.md)"
scripts/fuzz.sh "${OTA_FUZZ_SECONDS:-15}"

log "client packages: publish to test registries, install from them, live calls (stubs/test.sh)"
OTA_BUILD_DIR="$ROOT/build" stubs/test.sh

log "benchmark tool smoke run (scripts/bench.sh --smoke; figures are not judged here)"
OTA_BENCH_REPORT="$ROOT/build/bench_smoke.json" scripts/bench.sh --smoke

log "soak, short: 45 s at high concurrency, fails if gateway RSS/fds grow after warm-up (5 min: scripts/soak.sh)"
OTA_BUILD_DIR="$ROOT/build" scripts/soak.sh --seconds 45 --max-rss-growth-mib 40

if [ "${OTA_SKIP_SANITIZERS:-0}" != 1 ]; then
  for sanitizer in address thread; do
    dir="$ROOT/build-$sanitizer"
    log "unit tests under -fsanitize=$sanitizer ($dir)"
    cmake -S "$ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DOTA_SANITIZE=$sanitizer >/dev/null
    # Build only what the unit tests need: the sanitizer runs cover our code, not the e2e tools.
    mapfile -t unit_targets < <(cmake --build "$dir" --target help | sed -n 's/^\([a-z_]*_test\): .*/\1/p')
    cmake --build "$dir" --target "${unit_targets[@]}"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$ROOT/tests/tsan.supp" \
      ctest --test-dir "$dir" --output-on-failure -j "$JOBS" -L unit
  done
fi
log "all tests passed"
