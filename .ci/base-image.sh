#!/bin/sh
# Build (once) the local Debian base image the deployment tests use: no image registry is
# reachable here, so it is made with debootstrap from the machine's own apt mirror and imported
# into podman. The rootfs tarball is cached between runs.
set -eu
IMAGE="${BASE_IMAGE:-localhost/debian-bookworm-minbase}"
CACHE="${LOGAGENT_CI_CACHE:-/var/cache/logagent-ci}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "$0")" && pwd)/containers.conf}"

# The container tools themselves (a no-op when present; needs root and apt).
need=""
for tool in podman buildah runc debootstrap; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || need="$need $tool"
done
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$need"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need >/dev/null
  else
    echo "missing container tools:$need" >&2
    exit 1
  fi
fi

if podman image exists "$IMAGE"; then
  echo "base image $IMAGE present"
  exit 0
fi
mkdir -p "$CACHE"
if [ ! -s "$CACHE/rootfs.tar" ]; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  fi
  [ -n "$mirror" ] || { echo "no Debian mirror found in apt sources" >&2; exit 1; }
  root=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
  # Keep apt pointed at the same mirror inside images built from this base.
  echo "deb $mirror bookworm main" > "$root/etc/apt/sources.list"
  tar -C "$root" -cf "$CACHE/rootfs.tar.tmp" .
  mv "$CACHE/rootfs.tar.tmp" "$CACHE/rootfs.tar"
  rm -rf "$root"
fi
podman import -q "$CACHE/rootfs.tar" "$IMAGE" >/dev/null
echo "base image $IMAGE built"
