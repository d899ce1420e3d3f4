#!/usr/bin/env bash
# Regenerates the stubs (stubs/generate.sh), then builds each language's package at the version in
# stubs/VERSION:
#
#   Python  stubs/build/python/ota_gateway_client-VERSION-py3-none-any.whl   (pip wheel)
#   Go      module stubs/go, vetted and built (stubs/publish.sh gives it its module path)
#   Java    stubs/java/target/ota-gateway-client-VERSION.jar + .flattened-pom.xml (mvn package)
#   Node    stubs/build/ota-gateway-client-VERSION.tgz                       (npm pack)
#   protoset stubs/build/ota-v1.protoset                                     (buf build)
#
# stubs/publish.sh publishes them to registries; nothing is installed locally here.
set -euo pipefail
STUBS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$STUBS")
VERSION=$(tr -d '[:space:]' <"$STUBS/VERSION")
BUILD=$STUBS/build
log() { printf '\n==> %s\n' "$*"; }

"$STUBS/generate.sh"

log "python: wheel ota-gateway-client $VERSION"
rm -rf "$BUILD/python"
"$ROOT/.tools/stubs-python/bin/pip" wheel -q --disable-pip-version-check --no-deps \
  -w "$BUILD/python" "$STUBS/python"
rm -rf "$STUBS/python/build" "$STUBS/python/src/"*.egg-info

log "go: module stubs/go (vet, build)"
(cd "$STUBS/go" && go vet ./... && go build ./...)

log "java: mvn package com.otagateway:ota-gateway-client:$VERSION"
mvn -q -B -ntp -Dstyle.color=never -f "$STUBS/java/pom.xml" package -Drevision="$VERSION"

log "node: npm pack @ota-gateway/client $VERSION"
# npm takes the version only from package.json, so the package is staged with VERSION written in.
stage=$BUILD/node-package
rm -rf "$stage" "$BUILD"/ota-gateway-client-*.tgz
mkdir -p "$stage"
cp -r "$STUBS/node/package.json" "$STUBS/node/index.js" "$STUBS/node/index.d.ts" \
  "$STUBS/node/README.md" "$STUBS/node/gen" "$stage/"
(cd "$stage" && npm pkg set version="$VERSION" && npm pack --silent --pack-destination "$BUILD" >/dev/null)

echo "built ota-gateway-client $VERSION:"
ls -1 "$BUILD"/python/*.whl "$BUILD"/*.tgz "$BUILD"/ota-v1.protoset \
  "$STUBS/java/target/ota-gateway-client-$VERSION.jar"
