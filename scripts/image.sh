#!/usr/bin/env bash
# Builds deploy/Dockerfile into a local OCI image without Docker or a container registry, with
# Debian's buildah and podman (installed by scripts/setup.sh); tests/image runs the image.
#
#   scripts/image.sh                 # build ota-gateway:dev into the store below
#   scripts/image.sh podman images   # any podman command against the same store
#
# The base images the Dockerfile names (debian:12, debian:12-slim) are made from Debian packages by
# mmdebstrap, once per store, and imported under the names a registry would give them. Everything
# (image store, base tarballs, containers.conf) lives under OTA_IMAGE_DIR (default build/image), so
# runs share nothing with the machine's own podman and a later run reuses the cached layers.
#
# The build reaches the npm registry (google-proto-files, package-lock.json): when the machine
# trusts extra CAs (a TLS-inspecting egress proxy), its CA bundle is lent to that one RUN step as a
# build secret and never ends up in the image (tests/image checks).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
IMAGE_DIR=${OTA_IMAGE_DIR:-$ROOT/build/image}
TAG=${OTA_IMAGE_TAG:-ota-gateway:dev}
DEBIAN_SUITE=bookworm

log() { printf '\n==> %s\n' "$*" >&2; }

mkdir -p "$IMAGE_DIR"
# crun fails on this machine kind's hybrid cgroup layout; runc and cgroupfs work. The default
# ulimits podman asks for cannot be set without CAP_SYS_RESOURCE: ask for what the shell has
# (buildah lowers its own process limit to 32768 before a RUN step, so no more than that).
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
cat >"$IMAGE_DIR/containers.conf.new" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
mv "$IMAGE_DIR/containers.conf.new" "$IMAGE_DIR/containers.conf"
export CONTAINERS_CONF=$IMAGE_DIR/containers.conf
# overlay (the kernel's overlayfs, as root) shares layers; vfs works on any filesystem but copies
# the whole root filesystem for every build step and container (minutes for this build).
DRIVER=${OTA_IMAGE_STORAGE_DRIVER:-overlay}
STORE=(--root "$IMAGE_DIR/storage-$DRIVER" --runroot "$IMAGE_DIR/run-$DRIVER" --storage-driver "$DRIVER")

podman_() { podman "${STORE[@]}" "$@"; }

if [ $# -gt 0 ] && [ "$1" = podman ]; then
  shift
  exec podman "${STORE[@]}" "$@"
fi

# Base images from Debian packages. The slim variant leaves out what debian:12-slim leaves out
# (documentation, man pages, translations), for the packages installed later too.
SLIM_EXCLUDES=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*'
  'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias'
  'path-exclude=/usr/share/lintian/*' 'path-exclude=/usr/share/linda/*'
)
base_image() {  # name, mmdebstrap options...
  local name=$1; shift
  if podman_ image exists "docker.io/library/$name"; then return; fi
  log "mmdebstrap $DEBIAN_SUITE -> $name"
  local tar=$IMAGE_DIR/${name//:/-}.tar
  mmdebstrap --variant=minbase --quiet "$@" "$DEBIAN_SUITE" "$tar"
  podman_ import --change 'CMD ["bash"]' "$tar" "docker.io/library/$name" >/dev/null
  rm -f "$tar"
}
base_image debian:12
slim_options=()
for e in "${SLIM_EXCLUDES[@]}"; do slim_options+=(--dpkgopt="$e"); done
# mmdebstrap keeps --dpkgopt in the image (/etc/dpkg/dpkg.cfg.d/99mmdebstrap), as debian:12-slim
# keeps its excludes, so the runtime stage's apt-get honours them too.
base_image debian:12-slim "${slim_options[@]}"

secret=()
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
  secret=(--secret "id=build-ca,src=/etc/ssl/certs/ca-certificates.crt")
fi
log "buildah bud -f deploy/Dockerfile -t $TAG"
buildah "${STORE[@]}" bud --isolation chroot --network host --pull=never --layers \
  --force-rm --format docker "${secret[@]}" \
  --build-arg OTA_GIT_SHA="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -f deploy/Dockerfile -t "$TAG" .
