#!/usr/bin/env bash
# Make room for an image build on a GitHub-hosted runner (docs/ci.md, "Disk").
#
# 1. Removes preinstalled toolchains the image builds never use (each only if present; the
#    list is the usual one for ubuntu-24.04 runners). Nothing else is touched.
# 2. When a second, larger disk is mounted at $SCRATCH (hosted runners mount one at /mnt),
#    moves Docker's data root there (images, containers, the buildx builder's state), since the
#    build, the candidate pulled for verify and test, and the cache export all live there.
# 3. Prints the free space before and after, and fails when less than $NEED_GB is free where
#    Docker keeps its data, naming both figures, so a too-small runner fails in seconds instead
#    of hours into a build.
#
# Usage: free-disk.sh [NEED_GB]   (default 40; root or passwordless sudo)
# FREE_DISK_DRY_RUN=1: say what would be removed or moved, change nothing, still check.
set -euo pipefail

NEED_GB=${1:-40}
SCRATCH=${SCRATCH:-/mnt}
REMOVABLE=(
  /usr/share/dotnet /usr/local/lib/android /opt/ghc /usr/local/.ghcup
  /opt/hostedtoolcache/CodeQL /usr/local/share/boost /usr/share/swift
  /usr/local/julia* /opt/az /usr/local/share/powershell /usr/local/share/chromium
)

sudo_() {
  if [ "${FREE_DISK_DRY_RUN:-0}" = 1 ]; then say "would run: $*"; return 0; fi
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
free_gb() { df --output=avail -BG "$1" | tail -n 1 | tr -dc '0-9'; }
say() { printf 'free-disk: %s\n' "$*"; }

say "before: $(free_gb /) GB free on /$( [ -d "$SCRATCH" ] && printf ', %s GB on %s' "$(free_gb "$SCRATCH")" "$SCRATCH")"
for path in "${REMOVABLE[@]}"; do
  [ -e "$path" ] && sudo_ rm -rf "$path"
done

data_root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /var/lib/docker)
if [ -d "$SCRATCH" ] && [ "$(free_gb "$SCRATCH")" -gt "$(free_gb "$(dirname "$data_root")")" ]; then
  target="$SCRATCH/docker"
  say "moving Docker's data root $data_root -> $target"
  sudo_ systemctl stop docker.socket docker.service
  sudo_ mkdir -p "$target"
  config=/etc/docker/daemon.json
  current="{}"
  [ -s "$config" ] && current=$(cat "$config")
  updated=$(printf '%s' "$current" | jq --arg root "$target" '. + {"data-root": $root}')
  printf '%s\n' "$updated" | sudo_ tee "$config.new" >/dev/null
  sudo_ mv "$config.new" "$config"
  sudo_ systemctl start docker.service
  data_root=$target
fi

avail=$(free_gb "$(dirname "$data_root")")
say "after: $(free_gb /) GB free on /, $avail GB where Docker keeps its data ($data_root)"
if [ "$avail" -lt "$NEED_GB" ]; then
  say "this job needs $NEED_GB GB where Docker keeps its data and has $avail GB;" \
      "use a larger runner (docs/ci.md, \"Disk\")" >&2
  exit 1
fi
