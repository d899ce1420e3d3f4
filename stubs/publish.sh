#!/usr/bin/env bash
# Publishes every client package of the contract version in stubs/VERSION to the registries named
# by the settings below: the Python wheel to a PyPI-compatible index (twine), @ota-gateway/client to
# an npm registry (npm publish), com.otagateway:ota-gateway-client to a Maven repository
# (maven-deploy-plugin), and the Go module into a directory in Go module proxy layout.
#
#   stubs/publish.sh --dry-run   # build, check, and list what would be published where; upload nothing
#   stubs/publish.sh             # build, check, publish
#   stubs/publish.sh --no-build  # publish what stubs/build-packages.sh last built in this checkout
#
# Settings (environment; each ecosystem's own where it has one):
#   TWINE_REPOSITORY_URL     upload URL of the PyPI-compatible index (twine's setting); credentials,
#                            if the index wants them, in TWINE_USERNAME / TWINE_PASSWORD
#   OTA_PYPI_SIMPLE_URL      optional: the index's simple API, to see whether the version exists
#                            (default: TWINE_REPOSITORY_URL + simple/, as pypiserver lays it out)
#   NPM_CONFIG_REGISTRY      npm registry URL (npm's `registry` setting); the token goes where npm
#                            always reads it: `//host/:_authToken=...` in the .npmrc
#                            (NPM_CONFIG_USERCONFIG names another one)
#   MAVEN_DEPLOY_REPOSITORY  ID::URL of the Maven repository (maven-deploy-plugin's
#                            altDeploymentRepository form); credentials in ~/.m2/settings.xml <server><id>
#   OTA_GO_MODULE            Go module path the company's GOPROXY serves, e.g. go.corp.example/ota/client
#   OTA_GO_PROXY_DIR         directory in Go module proxy layout (GOPROXY protocol) that the company's
#                            proxy or a static file server serves
#
# Refuses to publish (exit 1, before uploading anything) when stubs/VERSION is not publishable
# (stubs/contract_version.py) or when any registry already has this version: registries are
# immutable, so a new version is the only fix. A missing setting names the variable (exit 2).
set -euo pipefail
STUBS=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$STUBS")
BUILD=$STUBS/build
TOOLS_PY=$ROOT/.tools/stubs-python/bin/python
MAVEN_DEPLOY_PLUGIN=org.apache.maven.plugins:maven-deploy-plugin:3.1.3

dry_run=0
build=1
for arg in "$@"; do
  case $arg in
    --dry-run) dry_run=1 ;;
    --no-build) build=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "stubs/publish.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done
log() { printf '\n==> %s\n' "$*"; }
fail() { echo "stubs/publish.sh: $*" >&2; exit 1; }

missing=()
need() {  # VARIABLE what-it-is
  if [ -z "${!1:-}" ]; then missing+=("  $1: $2"); fi
}
need TWINE_REPOSITORY_URL "upload URL of the PyPI-compatible index, e.g. https://pypi.corp.example/"
need NPM_CONFIG_REGISTRY "npm registry URL for @ota-gateway/client, e.g. https://npm.corp.example/"
need MAVEN_DEPLOY_REPOSITORY "ID::URL of the Maven repository, e.g. corp-releases::https://maven.corp.example/releases"
need OTA_GO_MODULE "Go module path, e.g. go.corp.example/ota-gateway/client"
need OTA_GO_PROXY_DIR "directory in Go module proxy layout that your GOPROXY serves"
if [ ${#missing[@]} -gt 0 ]; then
  printf 'stubs/publish.sh: set these variables (see stubs/publish.sh --help):\n' >&2
  printf '%s\n' "${missing[@]}" >&2
  exit 2
fi

VERSION=$(tr -d '[:space:]' <"$STUBS/VERSION")
WHEEL=$BUILD/python/ota_gateway_client-$VERSION-py3-none-any.whl
TARBALL=$BUILD/ota-gateway-client-$VERSION.tgz
JAR=$STUBS/java/target/ota-gateway-client-$VERSION.jar
POM=$STUBS/java/.flattened-pom.xml
GO_STAGE=$BUILD/go-module
maven_id=${MAVEN_DEPLOY_REPOSITORY%%::*}
maven_url=${MAVEN_DEPLOY_REPOSITORY##*::}
if [ "$maven_id" = "$MAVEN_DEPLOY_REPOSITORY" ] || [ -z "$maven_id" ] || [ -z "$maven_url" ]; then
  fail "MAVEN_DEPLOY_REPOSITORY must be ID::URL, got '$MAVEN_DEPLOY_REPOSITORY'"
fi

log "contract version $VERSION (stubs/contract_version.py)"
python3 "$STUBS/contract_version.py"

if [ "$build" = 1 ]; then
  # The registry settings are for publishing only: the build's own npm ci must not go there.
  env -u NPM_CONFIG_REGISTRY -u npm_config_registry "$STUBS/build-packages.sh"
fi
for built in "$WHEEL" "$TARBALL" "$JAR" "$POM" "$STUBS/go/ota/v1/errors.go"; do
  [ -f "$built" ] || fail "$built is missing: run stubs/build-packages.sh (or publish without --no-build)"
done

log "go: module $OTA_GO_MODULE v$VERSION (staged in $GO_STAGE)"
rm -rf "$GO_STAGE"
mkdir -p "$GO_STAGE"
cp -r "$STUBS/go/go.mod" "$STUBS/go/go.sum" "$STUBS/go/README.md" "$STUBS/go/ota" "$GO_STAGE/"
# Generated Go code never names its own import path, so the module can take any path.
(cd "$GO_STAGE" && go mod edit -module "$OTA_GO_MODULE" && go build ./... && go vet ./...)

log "already published? (registries are immutable)"
exists=()
simple_url=${OTA_PYPI_SIMPLE_URL:-${TWINE_REPOSITORY_URL%/}/simple/}
curl_config=()
if [ -n "${TWINE_USERNAME:-}" ]; then
  # The credentials go to curl on stdin, never on a command line that `ps` shows.
  curl_config=(-K -)
fi
curl_quote() { local s=${1//\\/\\\\}; printf '%s' "${s//\"/\\\"}"; }
page=$(printf 'user = "%s:%s"\n' "$(curl_quote "${TWINE_USERNAME:-}")" "$(curl_quote "${TWINE_PASSWORD:-}")" |
  curl -sS --max-time 30 "${curl_config[@]}" "${simple_url%/}/ota-gateway-client/" || true)
if grep -q "$(basename "$WHEEL")" <<<"$page"; then
  exists+=("ota-gateway-client $VERSION on $simple_url")
fi
if npm_view=$(npm view "@ota-gateway/client@$VERSION" version --registry "$NPM_CONFIG_REGISTRY" 2>&1); then
  if [ "$npm_view" = "$VERSION" ]; then exists+=("@ota-gateway/client $VERSION on $NPM_CONFIG_REGISTRY"); fi
elif ! grep -q E404 <<<"$npm_view"; then
  fail "cannot ask $NPM_CONFIG_REGISTRY whether @ota-gateway/client $VERSION exists: $npm_view"
fi
maven_pom_path=com/otagateway/ota-gateway-client/$VERSION/ota-gateway-client-$VERSION.pom
case $maven_url in
  file://*) [ -f "${maven_url#file://}/$maven_pom_path" ] && exists+=("com.otagateway:ota-gateway-client:$VERSION in $maven_url") ;;
  *)
    # Without credentials: a repository that hides its content answers 401, and then refuses the
    # redeploy itself (release repositories do).
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -I "${maven_url%/}/$maven_pom_path" || true)
    [ "$status" = 200 ] && exists+=("com.otagateway:ota-gateway-client:$VERSION in $maven_url") ;;
esac
go_check=0
"$TOOLS_PY" "$STUBS/go_proxy_publish.py" --check "$GO_STAGE" "v$VERSION" "$OTA_GO_PROXY_DIR" 2>/dev/null || go_check=$?
case $go_check in
  0) ;;
  3) exists+=("Go module $OTA_GO_MODULE@v$VERSION in $OTA_GO_PROXY_DIR") ;;
  *) fail "cannot check $OTA_GO_PROXY_DIR for the Go module (exit $go_check)" ;;
esac
if [ ${#exists[@]} -gt 0 ]; then
  printf 'stubs/publish.sh: version %s is already published:\n' "$VERSION" >&2
  printf '  %s\n' "${exists[@]}" >&2
  fail "registries are immutable, so nothing was published: set a new version in stubs/VERSION (and a section in stubs/CHANGELOG.md)"
fi

if [ "$dry_run" = 1 ]; then
  log "dry run: would publish version $VERSION"
  echo "would publish Python ota-gateway-client $VERSION ($(basename "$WHEEL")) to $TWINE_REPOSITORY_URL"
  "$TOOLS_PY" -m twine check --strict "$WHEEL"
  echo "would publish npm @ota-gateway/client $VERSION ($(basename "$TARBALL")) to $NPM_CONFIG_REGISTRY"
  npm publish --dry-run --registry "$NPM_CONFIG_REGISTRY" "$TARBALL" 2>&1 | sed 's/^npm notice /  /'
  echo "would publish Maven com.otagateway:ota-gateway-client:$VERSION ($(basename "$JAR")) to $maven_url (id $maven_id)"
  "$TOOLS_PY" "$STUBS/go_proxy_publish.py" --dry-run "$GO_STAGE" "v$VERSION" "$OTA_GO_PROXY_DIR"
  exit 0
fi

log "python: twine upload ota-gateway-client $VERSION -> $TWINE_REPOSITORY_URL"
"$TOOLS_PY" -m twine upload --non-interactive --disable-progress-bar "$WHEEL"

log "npm: npm publish @ota-gateway/client $VERSION -> $NPM_CONFIG_REGISTRY"
npm publish --registry "$NPM_CONFIG_REGISTRY" "$TARBALL"

log "maven: deploy com.otagateway:ota-gateway-client:$VERSION -> $maven_url"
mvn -B -q -ntp -Dstyle.color=never "$MAVEN_DEPLOY_PLUGIN:deploy-file" -Dfile="$JAR" -DpomFile="$POM" \
  -DrepositoryId="$maven_id" -Durl="$maven_url"

log "go: $OTA_GO_MODULE v$VERSION -> $OTA_GO_PROXY_DIR"
"$TOOLS_PY" "$STUBS/go_proxy_publish.py" "$GO_STAGE" "v$VERSION" "$OTA_GO_PROXY_DIR"

log "published version $VERSION"
echo "Record the release (buf breaking compares the next contract with it), then commit:"
echo "  npx buf build proto -o stubs/released/ota-v1-$VERSION.binpb && echo $VERSION >stubs/released/LATEST"
