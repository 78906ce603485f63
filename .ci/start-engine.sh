#!/usr/bin/env bash
# Start the Docker engines for the engine tests.
#
# Runs as root on a Debian 12 machine. Idempotent: packages already installed are not installed
# again, and an engine that already answers is left alone (never restarted). Otherwise it starts
# the engine in the background and waits at most $ENGINE_START_TIMEOUT seconds for it; on
# failure it prints the tail of the engine's log to stderr and exits non-zero.
#
# Two engines, because what a build may load differs between the two image stores:
# * the main one on /var/run/docker.sock (log: $DOCKERD_LOG), with the containerd image store
#   (/etc/docker/daemon.json: features.containerd-snapshotter), as a current Docker has it;
# * a second one with the classic image store on $CLASSIC_SOCKET (own data root, exec root,
#   pid file, config file and bridge, no iptables rules; log: $CLASSIC_LOG), as a default
#   engine and GitHub's runners have it: there, the docker driver refuses attestations and cache
#   export. tests/support/engine.py hands it to tests (`classic_engine`). CLASSIC_ENGINE=0 skips
#   it.
#
# Installed: Debian trixie's Docker 26 (docker.io) and buildx plugin (docker-buildx), from the
# trixie suite pinned at priority 100 so nothing else comes from it, next to bookworm's
# containerd, runc and iptables; and what the tests need: debootstrap (a Debian root filesystem
# for test images), busybox-static (a FROM-scratch image), docker-registry (loopback registries),
# qemu-user-static and binfmt-support (arm64 emulation: the qemu-aarch64 handler is registered,
# so the arm64 stand-ins and the Raspberry Pi gate run here), jq (the workflow's shell steps)
# and skopeo (reads what the registry holds). The preinstalled client in /usr/local/bin, where
# there is one, stays first on PATH; Debian's lands in /usr/bin.
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
ENGINE_START_TIMEOUT=${ENGINE_START_TIMEOUT:-60}
CLASSIC_ENGINE=${CLASSIC_ENGINE:-1}
CLASSIC_SOCKET=${CLASSIC_SOCKET:-/var/run/docker-classic.sock}
CLASSIC_LOG=${CLASSIC_LOG:-/var/log/dockerd-classic.log}
CLASSIC_ROOT=/var/lib/docker-classic
CLASSIC_EXEC=/var/run/docker-classic
CLASSIC_PIDFILE=/var/run/docker-classic.pid
CLASSIC_CONFIG=/etc/docker-classic/daemon.json
CLASSIC_BRIDGE=docker-classic
CLASSIC_SUBNET=172.31.254.1/24
TRIXIE_LIST=/etc/apt/sources.list.d/trixie.list
TRIXIE_PIN=/etc/apt/preferences.d/trixie
ENGINE_PACKAGES=(docker.io/trixie docker-buildx/trixie containerd runc iptables)
BUILDX_PACKAGES=(docker-buildx/trixie)
TOOL_PACKAGES=(debootstrap busybox-static docker-registry qemu-user-static binfmt-support jq
  skopeo gcc-aarch64-linux-gnu)

log() { printf 'start-engine: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (installs packages and starts dockerd)"
  exit 2
fi

engine_answers() { timeout 20 docker info >/dev/null 2>&1; }
classic_answers() { timeout 20 docker --host "unix://$CLASSIC_SOCKET" info >/dev/null 2>&1; }
installed() { dpkg-query -W -f='${Status}' "${1%/*}" 2>/dev/null | grep -q 'install ok installed'; }

# A machine whose engine already answers (a GitHub runner ships Docker) keeps it: installing
# Debian's docker.io there would fight the installed engine's packages. It still gets the
# buildx plugin when its docker has none.
packages=("${TOOL_PACKAGES[@]}")
if ! engine_answers; then
  packages+=("${ENGINE_PACKAGES[@]}")
elif ! docker buildx version >/dev/null 2>&1; then
  packages+=("${BUILDX_PACKAGES[@]}")
fi

missing=()
for pkg in "${packages[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  if printf '%s\n' "${missing[@]}" | grep -q '/trixie$'; then
    # Debian's trixie suite, only for what is asked for by name (`pkg/trixie`)
    mirror=$(sed -n 's/^URIs: //p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    [ -f "$TRIXIE_LIST" ] || printf 'deb %s trixie main\n' "$mirror" >"$TRIXIE_LIST"
    [ -f "$TRIXIE_PIN" ] || printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' \
      >"$TRIXIE_PIN"
  fi
  log "installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
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

# A dockerd that crashed leaves its pid file behind and refuses to start again.
clear_stale_pidfiles() {
  local pidfile
  for pidfile in "$@"; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then
      rm -f "$pidfile"
    fi
  done
}

# start_dockerd NAME LOG CHECK ARGS...: start dockerd with ARGS unless CHECK already succeeds,
# and wait until CHECK succeeds.
start_dockerd() {
  local name=$1 logfile=$2 check=$3 pid deadline
  shift 3
  if "$check"; then
    return 0
  fi
  log "starting the $name engine (log: $logfile)"
  mkdir -p "$(dirname "$logfile")"
  nohup "$(command -v dockerd)" "$@" >"$logfile" 2>&1 </dev/null &
  pid=$!
  deadline=$(($(date +%s) + ENGINE_START_TIMEOUT))
  until "$check"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "the $name dockerd exited before it answered; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "the $name dockerd did not answer within ${ENGINE_START_TIMEOUT}s; last lines of $logfile:"
      tail -n 30 "$logfile" >&2 || true
      return 1
    fi
    sleep 1
  done
}

if engine_answers; then
  log "engine already running: $(docker info --format '{{.ServerVersion}} {{.Driver}}')"
else
  # the containerd image store, set before the engine first starts (an existing file is
  # left as it is)
  if [ ! -f /etc/docker/daemon.json ]; then
    mkdir -p /etc/docker
    printf '{"features": {"containerd-snapshotter": true}}\n' >/etc/docker/daemon.json
  fi
  clear_stale_pidfiles /var/run/docker.pid /var/run/docker/containerd/containerd.pid
  start_dockerd main "$DOCKERD_LOG" engine_answers
  log "engine ready: $(docker info --format '{{.ServerVersion}} {{.Driver}}')"
fi

if [ "$CLASSIC_ENGINE" = 1 ] && ! classic_answers; then
  # its own bridge (the main engine owns docker0) and no iptables rules (they would be the
  # main engine's too); its containers need no outside network
  if ! ip link show "$CLASSIC_BRIDGE" >/dev/null 2>&1; then
    ip link add "$CLASSIC_BRIDGE" type bridge
    ip addr add "$CLASSIC_SUBNET" dev "$CLASSIC_BRIDGE"
  fi
  ip link set "$CLASSIC_BRIDGE" up
  mkdir -p "$(dirname "$CLASSIC_CONFIG")"
  printf '{"features": {"containerd-snapshotter": false}}\n' >"$CLASSIC_CONFIG"
  clear_stale_pidfiles "$CLASSIC_PIDFILE" "$CLASSIC_EXEC/containerd/containerd.pid"
  start_dockerd classic "$CLASSIC_LOG" classic_answers \
    --host "unix://$CLASSIC_SOCKET" --data-root "$CLASSIC_ROOT" --exec-root "$CLASSIC_EXEC" \
    --pidfile "$CLASSIC_PIDFILE" --config-file "$CLASSIC_CONFIG" --bridge "$CLASSIC_BRIDGE" \
    --iptables=false --ip6tables=false
fi
if [ "$CLASSIC_ENGINE" = 1 ]; then
  log "classic-store engine ready on $CLASSIC_SOCKET:" \
    "$(docker --host "unix://$CLASSIC_SOCKET" info --format '{{.ServerVersion}} {{.Driver}}')"
fi
