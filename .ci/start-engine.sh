#!/usr/bin/env bash
# Start a Docker engine for the engine tests.
#
# Runs as root on a Debian 12 machine. Idempotent: packages already installed are not installed
# again, and a running engine (`docker info` answers) is left alone. Otherwise it starts Debian's
# dockerd in the background, logging to $DOCKERD_LOG, and waits at most $ENGINE_START_TIMEOUT
# seconds for it. On failure it prints the tail of that log to stderr and exits non-zero.
#
# Installed: the engine (docker.io, containerd, runc, iptables) and what tests/engine/images.py
# needs to build test images without a registry (debootstrap for a Debian root filesystem,
# busybox-static for a FROM-scratch image) and arm64 emulation (qemu-user-static and
# binfmt-support: the qemu-aarch64 handler is registered, so the arm64 stand-ins and the
# Raspberry Pi gate run here). The preinstalled 28.x client in /usr/local/bin stays first on
# PATH; Debian's 20.10 client lands in /usr/bin.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
ENGINE_START_TIMEOUT=${ENGINE_START_TIMEOUT:-60}
ENGINE_PACKAGES=(docker.io containerd runc iptables)
TOOL_PACKAGES=(debootstrap busybox-static docker-registry qemu-user-static binfmt-support
  gcc-aarch64-linux-gnu)

log() { printf 'start-engine: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (installs packages and starts dockerd)"
  exit 2
fi

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }

# A machine whose engine already answers (a GitHub runner ships Docker) keeps it: installing
# Debian's docker.io there would fight the installed engine's packages.
packages=("${TOOL_PACKAGES[@]}")
if ! engine_answers; then
  packages+=("${ENGINE_PACKAGES[@]}")
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# arm64 containers, emulated: binfmt_misc mounted and Debian's qemu-aarch64 handler enabled (it
# is registered with the F flag, so containers need no qemu of their own).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || log "binfmt_misc cannot be mounted: the arm64 tests will be skipped"
fi
if [ -e /proc/sys/fs/binfmt_misc/register ]; then
  update-binfmts --enable qemu-aarch64 || log "the qemu-aarch64 handler could not be enabled"
fi

if engine_answers; then
  log "engine already running: $(docker info --format '{{.ServerVersion}} {{.Driver}}')"
  exit 0
fi

# A dockerd that crashed leaves its pid file behind and refuses to start again.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
  if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
    rm -f "$pidfile"
  fi
done

log "starting dockerd (log: $DOCKERD_LOG)"
mkdir -p "$(dirname "$DOCKERD_LOG")"
nohup /usr/sbin/dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
dockerd_pid=$!

deadline=$(($(date +%s) + ENGINE_START_TIMEOUT))
until engine_answers; do
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then
    log "dockerd exited before it answered; last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    log "dockerd did not answer within ${ENGINE_START_TIMEOUT}s; last lines of $DOCKERD_LOG:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
  sleep 1
done
log "engine ready: $(docker info --format '{{.ServerVersion}} {{.Driver}}')"
