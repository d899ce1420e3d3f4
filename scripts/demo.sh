#!/usr/bin/env bash
# Sets up and builds ota-gateway (scripts/setup.sh), then runs it on 127.0.0.1:50051.
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

scripts/setup.sh

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait; }
trap cleanup EXIT INT TERM

# A local demo on loopback: no TLS and no caller checks (README "Security" for production).
gateway_args=(--listen "$LISTEN" --plaintext --allow-unauthenticated)
if [ -z "${ALIBABA_CLOUD_ACCESS_KEY_ID:-}" ] || [ -z "${ALIBABA_CLOUD_ACCESS_KEY_SECRET:-}" ]; then
  cat <<'MSG'

  ***********************************************************************************
  *  No Alibaba Cloud credentials in the environment: running in EMULATOR MODE.      *
  *  A local iot-emulator on 127.0.0.1:18080 stands in for Alibaba Cloud.            *
  *  Nothing real is cancelled. Set ALIBABA_CLOUD_ACCESS_KEY_ID and                  *
  *  ALIBABA_CLOUD_ACCESS_KEY_SECRET to call the real service.                       *
  ***********************************************************************************

MSG
  "$BUILD/emulator/iot-emulator" --listen 127.0.0.1:18080 &
  pids+=($!)
  gateway_args+=(--emulator --endpoint http://127.0.0.1:18080/)
  job=demo-dynamic-0001 job2=demo-dynamic-0002
else
  echo "Credentials found: calling the real Alibaba Cloud IoT endpoint (region ${OTA_REGION:-cn-shanghai})."
  job=YOUR_JOB_ID job2=ANOTHER_JOB_ID
fi

"$BUILD/server/ota-gateway" "${gateway_args[@]}" &
pids+=($!)

# Wait until the gateway reports SERVING, then show how to call it.
for _ in $(seq 1 100); do
  if "$ROOT/.tools/bin/grpcurl" -plaintext "$LISTEN" grpc.health.v1.Health/Check >/dev/null 2>&1; then break; fi
  sleep 0.1
done
cat <<MSG

ota-gateway is serving on $LISTEN. Try, in another terminal:

  $ROOT/.tools/bin/grpcurl -plaintext $LISTEN list
  $ROOT/.tools/bin/grpcurl -plaintext -d '{"job_id": "$job"}' $LISTEN ota.v1.OtaStrategyService/CancelByJob
  $BUILD/client/ota-cancel --target $LISTEN --job-id $job2

(A batch can be cancelled once: cancelling $job again answers FAILED_PRECONDITION.)

Ctrl-C stops it.
MSG
wait -n "${pids[@]}"
