#!/usr/bin/env bash
# Prints the `run` arguments that let containers start on this host, by
# trying them with a real container: none, then open-file and process
# limits at the host's hard limits, then lower ones. On some hosts the
# engines' default limits are above what the host allows, and runc fails
# with "error setting rlimits". Needs the test image (build-test-image.sh).
#
# Usage: scripts/container-limits.sh [ENGINE] [IMAGE]
set -euo pipefail

engine=${1:-$(command -v podman || command -v docker)}
image=${2:-localhost/poiesis-busybox:latest}
nofile=$(ulimit -Hn)
nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=1048576

candidates=(
  ""
  "--ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"
  "--ulimit nofile=$((nofile < 10000 ? nofile : 10000)):$((nofile < 10000 ? nofile : 10000)) --ulimit nproc=$((nproc < 9000 ? nproc : 9000)):$((nproc < 9000 ? nproc : 9000))"
  "--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
)
for args in "${candidates[@]}"; do
  # shellcheck disable=SC2086 # the arguments are meant to be split
  if "$engine" run --rm $args "$image" true >/dev/null 2>&1; then
    echo "$args"
    exit 0
  fi
done
echo "container-limits: no tried limits let $engine start $image; run it by hand to see why" >&2
exit 1
