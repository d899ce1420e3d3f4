#!/usr/bin/env bash
# Regenerates every client stub from proto/ with `buf generate` and local, pinned plugins, and
# writes the descriptor set for `grpcurl -protoset`:
#
#   stubs/generate.sh
#
#   stubs/python/src/ota/v1/        *_pb2.py, *_pb2.pyi, *_pb2_grpc.py   (grpcio-tools)
#   stubs/go/ota/v1/                *.pb.go, *_grpc.pb.go                 (protoc-gen-go, -go-grpc)
#   stubs/java/src/main/java/       messages + OtaStrategyServiceGrpc     (protoc, protoc-gen-grpc-java)
#   stubs/node/gen/                 *_pb.js + *_pb.d.ts, with google.rpc  (@bufbuild/protoc-gen-es)
#   stubs/build/ota-v1.protoset     FileDescriptorSet of the contract     (buf build)
#
# None of this is committed (see stubs/.gitignore): the package builds run this first.
set -euo pipefail
STUBS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$STUBS")
cd "$ROOT"

"$STUBS/install-tools.sh"
if [ ! -x node_modules/.bin/buf ]; then npm ci --no-audit --no-fund --loglevel=error; fi

printf '\n==> buf generate (stubs/buf.gen.yaml, stubs/buf.gen.google-rpc.yaml)\n'
# buf's own `clean` would wipe whole output folders, including the committed go.mod / pom.xml
# beside the generated code, so only the generated trees are removed here.
rm -rf stubs/python/src stubs/go/ota stubs/java/src stubs/node/gen
npx --no-install buf generate --template stubs/buf.gen.yaml
npx --no-install buf generate --template stubs/buf.gen.google-rpc.yaml
# Python's package build reads its version from a file inside the project; stubs/VERSION is the source.
cp stubs/VERSION stubs/python/VERSION

mkdir -p stubs/build
# Imports and source info included: grpcurl needs every file, and shows the comments in `describe`.
npx --no-install buf build proto -o stubs/build/ota-v1.protoset
echo "generated stubs for ota.v1 $(cat stubs/VERSION) and stubs/build/ota-v1.protoset"
