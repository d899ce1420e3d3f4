#!/usr/bin/env bash
# Sets up and builds ota-gateway (scripts/setup.sh), then runs it on 127.0.0.1:50051.
# Setup is incremental: on a built tree with nothing changed, the demo is up within seconds.
#
#   OTA_LISTEN=127.0.0.1:50052 OTA_EMULATOR_LISTEN=127.0.0.1:18081 scripts/demo.sh   # other ports
#
# Without ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET in the environment it runs
# in EMULATOR MODE: a local iot-emulator stands in for Alibaba Cloud, nothing real is cancelled.
# With them, it calls the real Alibaba Cloud endpoint of OTA_REGION (default cn-shanghai).
# Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD="$ROOT/build"
LISTEN=${OTA_LISTEN:-127.0.0.1:50051}
EMULATOR_LISTEN=${OTA_EMULATOR_LISTEN:-127.0.0.1:18080}

scripts/setup.sh

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM

# A local demo on loopback: no TLS and no caller checks (README "Security" for production).
gateway_args=(--listen "$LISTEN" --plaintext --allow-unauthenticated)
if [ -z "${ALIBABA_CLOUD_ACCESS_KEY_ID:-}" ] || [ -z "${ALIBABA_CLOUD_ACCESS_KEY_SECRET:-}" ]; then
  cat <<MSG

  ***********************************************************************************
  *  No Alibaba Cloud credentials in the environment: running in EMULATOR MODE.
  *  A local iot-emulator on $EMULATOR_LISTEN stands in for Alibaba Cloud.
  *  Nothing real is cancelled. Set ALIBABA_CLOUD_ACCESS_KEY_ID and
  *  ALIBABA_CLOUD_ACCESS_KEY_SECRET to call the real service.
  ***********************************************************************************

MSG
  # A busy port stops the emulator at once with its own message (exit 2): stop here too.
  emulator_out=$(mktemp)
  "$BUILD/emulator/iot-emulator" --listen "$EMULATOR_LISTEN" >"$emulator_out" &
  pids+=($!)
  until grep -q "listening on" "$emulator_out"; do
    if ! kill -0 "${pids[0]}" 2>/dev/null; then
      rm -f "$emulator_out"
      echo "demo.sh: the emulator did not start; OTA_EMULATOR_LISTEN=HOST:PORT picks another address" >&2
      exit 2
    fi
    sleep 0.05
  done
  rm -f "$emulator_out"
  gateway_args+=(--emulator --endpoint "http://$EMULATOR_LISTEN/")
  job=demo-dynamic-0001 job2=demo-dynamic-0002
  demo_jobs="
 The emulator's demo batches: demo-dynamic-0001 ... demo-dynamic-0020, demo-static-0001 and
 demo-finished-0001 (README, iot-emulator)."
else
  echo "Credentials found: calling the real Alibaba Cloud IoT endpoint (region ${OTA_REGION:-cn-shanghai})."
  job=YOUR_JOB_ID job2=ANOTHER_JOB_ID demo_jobs=""
fi

"$BUILD/server/ota-gateway" "${gateway_args[@]}" &
gateway_pid=$!
pids+=("$gateway_pid")

# Wait until the gateway reports SERVING (or stops: a busy port, say, which it explains), then
# show how to call it.
until "$ROOT/.tools/bin/grpcurl" -plaintext -max-time 1 "$LISTEN" grpc.health.v1.Health/Check >/dev/null 2>&1; do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    echo "demo.sh: ota-gateway did not start; OTA_LISTEN=HOST:PORT picks another address" >&2
    exit 2
  fi
  sleep 0.1
done
cat <<MSG

ota-gateway is serving on $LISTEN. Try, in another terminal:

  $ROOT/.tools/bin/grpcurl -plaintext $LISTEN list
  $ROOT/.tools/bin/grpcurl -plaintext -max-time 10 -d '{"job_id": "$job"}' $LISTEN ota.v1.OtaStrategyService/CancelByJob
  $BUILD/client/ota-cancel --target $LISTEN --job-id $job2 --timeout 10s

(Cancelling $job again answers OK with outcome CANCEL_OUTCOME_ALREADY_CANCELLED, without calling Alibaba.$demo_jobs)

Ctrl-C stops it.
MSG
wait -n "${pids[@]}"
