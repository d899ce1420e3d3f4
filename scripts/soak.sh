#!/usr/bin/env bash
# Soak test: ota-gateway under sustained high concurrency for several minutes, watching its memory
# and file descriptors for growth. Local only: iot-emulator (no quota, no latency) and the gateway
# on 127.0.0.1, load from ghz, every loop bounded by the duration.
#
# Samples the gateway's RSS and open fd count every --interval seconds, then prints min / median /
# max after the warm-up and the least-squares slope (MiB per minute, fds per minute).
#
#   scripts/soak.sh                           # 5 minutes, 200 concurrent callers
#   scripts/soak.sh --seconds 45 --max-rss-growth-mib 40   # short run that fails on growth (test.sh)
#
# Options: --seconds N (default 300), --concurrency N (200), --interval S (5), --warmup S (20% of
# the run, at least 10 s), --max-rss-growth-mib M (off: with it, exit 1 when RSS after the warm-up
# rises more than M MiB above its value at the end of the warm-up, or fds by more than 64).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${OTA_BUILD_DIR:-$ROOT/build}
GHZ=${OTA_GHZ:-$ROOT/.tools/bin/ghz}
PYTHON=${OTA_PYTHON:-$ROOT/.venv/bin/python}

seconds=300 concurrency=200 interval=5 warmup="" max_growth=""
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --minutes) seconds=$(($2 * 60)); shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --max-rss-growth-mib) max_growth=$2; shift 2 ;;
    *) echo "soak.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$warmup" ] || warmup=$(( seconds / 5 > 10 ? seconds / 5 : 10 ))

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_line() {  # file needle
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "soak.sh: $1 never printed '$2':" >&2; cat "$1" >&2; exit 1
}

emulator_port=$(free_port)
"$BUILD_DIR/emulator/iot-emulator" --listen="127.0.0.1:$emulator_port" --qps=0 >"$work/emulator.log" 2>&1 &
pids+=($!)
wait_for_line "$work/emulator.log" "iot-emulator listening"

gateway_port=$(free_port)
# --plaintext/--allow-unauthenticated: required by gateways with the caller-security flags, unknown
# to older ones.
security_flags=()
if "$BUILD_DIR/server/ota-gateway" --helpfull 2>&1 | grep -q -E -- "--allow.unauthenticated"; then
  security_flags=(--plaintext --allow-unauthenticated)
fi
"$BUILD_DIR/server/ota-gateway" --emulator "${security_flags[@]}" \
  --endpoint="http://127.0.0.1:$emulator_port/" --listen="127.0.0.1:$gateway_port" \
  --qps=100000000 --burst=100000000 --rate-margin=0s --log-level=error >"$work/gateway.log" 2>&1 &
gateway_pid=$!
pids+=("$gateway_pid")
# Logging at error level (a line per call would measure the log, not the gateway), so the
# "serving" line is not printed: wait for the port instead.
"$PYTHON" - "$gateway_port" <<'EOF'
import socket, sys, time
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("soak.sh: ota-gateway did not start listening")
EOF

echo "soak: ${seconds}s at concurrency $concurrency against 127.0.0.1:$gateway_port (gateway pid $gateway_pid), sampling every ${interval}s, warm-up ${warmup}s"
"$GHZ" --insecure --proto="$ROOT/proto/ota/v1/ota_strategy_service.proto" --import-paths="$ROOT/proto" \
  --call=ota.v1.OtaStrategyService.CancelByJob --data='{"job_id":"soak-{{.RequestNumber}}"}' \
  --concurrency="$concurrency" --connections=$(( (concurrency + 99) / 100 )) \
  --duration="${seconds}s" --timeout=10s --format=json --output="$work/ghz.json" \
  "127.0.0.1:$gateway_port" >"$work/ghz.log" 2>&1 &
ghz_pid=$!
pids+=("$ghz_pid")

"$PYTHON" - "$gateway_pid" "$ghz_pid" "$seconds" "$interval" "$warmup" "$max_growth" \
  "$work/ghz.json" "http://127.0.0.1:$emulator_port/_emulator/reset" <<'EOF'
import json, os, statistics, sys, time, urllib.request

gateway, ghz, seconds, interval, warmup = (int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]),
                                           float(sys.argv[4]), float(sys.argv[5]))
max_growth = float(sys.argv[6]) if sys.argv[6] else None
report_path, emulator_reset = sys.argv[7], sys.argv[8]

def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

samples = []  # (seconds since start, RSS MiB, fds)
start = time.monotonic()
deadline = start + seconds + 30  # ghz stops by itself; this only bounds a stuck run
while time.monotonic() < deadline:
    if not os.path.exists(f"/proc/{ghz}"):
        break
    if not os.path.exists(f"/proc/{gateway}"):
        sys.exit("soak: ota-gateway died during the run")
    try:
        with open(f"/proc/{ghz}/stat") as f:
            if f.read().split()[2] == "Z":
                break
    except FileNotFoundError:
        break
    t = time.monotonic() - start
    samples.append((t, rss_mib(gateway), len(os.listdir(f"/proc/{gateway}/fd"))))
    print(f"  t={t:6.1f}s  RSS {samples[-1][1]:7.1f} MiB  fds {samples[-1][2]}", flush=True)
    # The emulator records every call in memory; clearing it keeps a long run from filling the
    # machine (the gateway is what is measured).
    try:
        urllib.request.urlopen(urllib.request.Request(emulator_reset, data=b"", method="POST"),
                               timeout=5).read()
    except OSError:
        pass
    time.sleep(interval)

steady = [s for s in samples if s[0] >= warmup]
if len(steady) < 3:
    sys.exit(f"soak: only {len(steady)} samples after the warm-up; run longer")

def slope_per_minute(points):
    xs = [p[0] for p in points]
    mean_x = statistics.fmean(xs)
    den = sum((x - mean_x) ** 2 for x in xs)
    def fit(ys):
        mean_y = statistics.fmean(ys)
        return 60 * sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / den
    return fit([p[1] for p in points]), fit([p[2] for p in points])

rss = [s[1] for s in steady]
fds = [s[2] for s in steady]
rss_slope, fd_slope = slope_per_minute(steady)
calls = rps = ok = 0
try:
    with open(report_path) as f:
        report = json.load(f)
    calls, rps = report.get("count", 0), report.get("rps", 0.0)
    codes = report.get("statusCodeDistribution", {})
except (OSError, ValueError):
    codes = {}
print(f"soak: {len(samples)} samples, {len(steady)} after the {warmup:.0f}s warm-up; "
      f"{calls} calls, {rps:.0f}/s, codes {codes}")
print(f"soak: RSS MiB  min {min(rss):.1f}  median {statistics.median(rss):.1f}  max {max(rss):.1f}"
      f"  slope {rss_slope:+.2f} MiB/min")
print(f"soak: fds      min {min(fds)}  median {statistics.median(fds):.0f}  max {max(fds)}"
      f"  slope {fd_slope:+.2f} /min")
if max_growth is not None:
    base_rss, base_fds = steady[0][1], steady[0][2]
    if max(rss) > base_rss + max_growth:
        sys.exit(f"soak: FAIL: RSS grew from {base_rss:.1f} to {max(rss):.1f} MiB after the "
                 f"warm-up (bound {max_growth} MiB)")
    if max(fds) > base_fds + 64:
        sys.exit(f"soak: FAIL: fds grew from {base_fds} to {max(fds)} after the warm-up")
    if calls == 0:
        sys.exit("soak: FAIL: ghz reported no calls")
    print(f"soak: PASS (RSS within {max_growth} MiB of {base_rss:.1f} MiB after the warm-up)")
EOF
