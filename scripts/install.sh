#!/usr/bin/env bash
# Installs Poiesis on this machine for `poiesis local`: Debian packages
# (podman, runc, busybox-static), npm packages, the build, and a small local
# image, localhost/poiesis-busybox, for trying tasks without a registry.
#
# When containers cannot start under podman's default resource limits
# (hosts whose hard limits are lower, where runc fails with "error setting
# rlimits"), it writes limits that work into
# /etc/containers/containers.conf.d/50-poiesis-ulimits.conf and reports it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-system-packages.sh
npm ci --no-audit --no-fund
npm run build
scripts/build-test-image.sh --no-aliases

args=$(scripts/container-limits.sh podman localhost/poiesis-busybox:latest)
if [ -n "$args" ]; then
  limits=$(echo "$args" | grep -Eo '(nofile|nproc)=[0-9]+:[0-9]+' | sed 's/.*/"&"/' | paste -sd, -)
  dropin=/etc/containers/containers.conf.d/50-poiesis-ulimits.conf
  mkdir -p "$(dirname "$dropin")"
  printf '# Written by Poiesis scripts/install.sh: containers fail to start above these limits here.\n[containers]\ndefault_ulimits = [%s]\n' \
    "$limits" >"$dropin"
  echo "install: containers need lower limits on this host; wrote $dropin with $limits"
fi
echo "install: done; start Poiesis with ./bin/run.js local"
