#!/usr/bin/env bash
# Regenerates every client stub from proto/ with `buf generate` and local, pinned plugins, and
# writes the descriptor set for `grpcurl -protoset`:
#
#   stubs/generate.sh
#
#   stubs/python/src/ota_gateway_client/v1/  *_pb2.py, *_pb2.pyi, *_pb2_grpc.py, errors.py
#                                            (grpcio-tools; buf.gen.python.yaml)
#   stubs/go/ota/v1/                *.pb.go, *_grpc.pb.go, errors.go      (protoc-gen-go, -go-grpc)
#   stubs/java/src/main/java/       messages, OtaStrategyServiceGrpc, ErrorInfoConstants
#                                   (protoc, protoc-gen-grpc-java)
#   stubs/node/gen/                 *_pb.js + *_pb.d.ts with google.rpc, errors.js + .d.ts
#                                   (@bufbuild/protoc-gen-es)
#   stubs/build/ota-v1.protoset     FileDescriptorSet of the contract     (buf build)
#
# The errors.* / ErrorInfoConstants files (ErrorInfo domains and reasons as constants) are written by
# stubs/protoc_gen_ota_errors.py from the contract's ErrorDomain and ErrorReason enums.
# None of this is committed (see stubs/.gitignore): the package builds run this first.
set -euo pipefail
STUBS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$STUBS")
cd "$ROOT"

"$STUBS/install-tools.sh"
if [ ! -x node_modules/.bin/buf ]; then npm ci --no-audit --no-fund --loglevel=error; fi

printf '\n==> buf generate (stubs/buf.gen.yaml, buf.gen.python.yaml, buf.gen.google-rpc.yaml)\n'
# buf's own `clean` would wipe whole output folders, including the committed go.mod / pom.xml and
# the Python package's committed __init__.py / py.typed beside the generated code, so only the
# generated trees are removed here (stubs/python/src/ota: the layout before ota_gateway_client).
rm -rf stubs/python/src/ota stubs/python/src/ota_gateway_client/v1 stubs/go/ota stubs/java/src \
  stubs/node/gen stubs/build/python-proto
mkdir -p stubs/build/python-proto/ota_gateway_client/v1
cp proto/ota/v1/ota_strategy_service.proto stubs/build/python-proto/ota_gateway_client/v1/
npx --no-install buf generate --template stubs/buf.gen.yaml
npx --no-install buf generate --template stubs/buf.gen.python.yaml
npx --no-install buf generate --template stubs/buf.gen.google-rpc.yaml
printf '"""ota.v1 messages, gRPC stub and ErrorInfo constants (generated)."""\n' \
  >stubs/python/src/ota_gateway_client/v1/__init__.py
# Python's package build reads its version from a file inside the project; stubs/VERSION is the source.
cp stubs/VERSION stubs/python/VERSION

mkdir -p stubs/build
# Imports and source info included: grpcurl needs every file, and shows the comments in `describe`.
npx --no-install buf build proto -o stubs/build/ota-v1.protoset
echo "generated stubs for ota.v1 $(cat stubs/VERSION) and stubs/build/ota-v1.protoset"
