#!/bin/sh
# Installs the Debian packages Poiesis needs to run tasks on one machine:
# podman with runc, and a static busybox that wires executor stdin, stdout
# and stderr files inside containers whose images have no shell.
set -eu

missing=""
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || missing="$missing busybox-static"
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-system-packages: run as root, or install:$missing" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi
echo "podman $(podman --version | awk '{print $3}'), runc and busybox-static are installed"
