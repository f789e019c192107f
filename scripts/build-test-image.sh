#!/bin/sh
# Build the local test image from Debian's busybox-static, so that tests and
# local runs of tasks naming `alpine` work without a registry.
#
# The root filesystem has /bin/busybox and one symlink per applet, and the
# image is tagged as alpine, localhost/alpine, docker.io/library/alpine:latest
# and localhost/poiesis-busybox:latest. Running the script again only moves
# the tags, unless the busybox binary changed, which the image records in
# the label org.poiesis.busybox-sha256.
#
# Usage: scripts/build-test-image.sh [--no-aliases] [ENGINE]
#   --no-aliases  tag only localhost/poiesis-busybox:latest, leaving any real
#                 alpine image of the machine alone (what scripts/install.sh does).
#   ENGINE   podman or docker; default: podman if on PATH, else docker.
#   BUSYBOX  environment variable, path of a static busybox; default /bin/busybox.
set -eu

busybox=${BUSYBOX:-/bin/busybox}
aliases=yes
if [ "${1:-}" = --no-aliases ]; then
  aliases=no
  shift
fi
engine=${1:-}
if [ -z "$engine" ]; then
  if command -v podman >/dev/null 2>&1; then
    engine=podman
  elif command -v docker >/dev/null 2>&1; then
    engine=docker
  else
    echo "build-test-image: neither podman nor docker is on PATH; install one of them" >&2
    exit 1
  fi
fi

if [ ! -x "$busybox" ]; then
  echo "build-test-image: $busybox is not an executable; install busybox-static or set BUSYBOX" >&2
  exit 1
fi
if ! "$busybox" --list >/dev/null 2>&1; then
  echo "build-test-image: $busybox does not list its applets; it must be a busybox binary whose file name is busybox" >&2
  exit 1
fi
# A dynamically linked busybox would not find its libraries inside the image.
# glibc's ldd exits non-zero for a static binary.
if command -v ldd >/dev/null 2>&1 && ldd "$busybox" >/dev/null 2>&1; then
  echo "build-test-image: $busybox is dynamically linked; install busybox-static or set BUSYBOX to a static busybox" >&2
  exit 1
fi

primary=localhost/poiesis-busybox:latest
tags="alpine localhost/alpine docker.io/library/alpine:latest"
checksum=$(sha256sum "$busybox" | cut -d ' ' -f 1)

tag_image() {
  [ "$aliases" = yes ] || return 0
  for tag in $tags; do
    "$engine" tag "$primary" "$tag"
  done
}

built=$("$engine" image inspect --format '{{index .Config.Labels "org.poiesis.busybox-sha256"}}' \
  "$primary" 2>/dev/null || true)
if [ "$built" = "$checksum" ]; then
  tag_image
  echo "build-test-image: $primary is up to date"
  exit 0
fi

previous=$("$engine" image inspect --format '{{.Id}}' "$primary" 2>/dev/null || true)
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
rootfs="$workdir/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/etc" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"

# One symlink per applet, all in /bin so that PATH finds them wherever the
# applet would usually live. The applet named busybox is skipped because its
# link would replace the binary itself.
for applet in $("$busybox" --list); do
  if [ "$applet" != busybox ]; then
    ln -s busybox "$rootfs/bin/$applet"
  fi
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
  >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"

tar -C "$rootfs" -cf "$workdir/rootfs.tar" .

# docker import takes the tag as its second argument; podman accepts the same form.
"$engine" import \
  --change 'ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD=["/bin/sh"]' \
  --change "LABEL=org.poiesis.busybox-sha256=$checksum" \
  "$workdir/rootfs.tar" "$primary" >/dev/null

tag_image
# The image this run replaced has no tags left. Removing it fails while a
# container still uses it, and then it stays until `image prune`.
if [ -n "$previous" ]; then
  "$engine" image rm "$previous" >/dev/null 2>&1 || true
fi

echo "build-test-image: built $primary with $engine"
