#!/bin/sh
# entrypoint.sh: the Docker-in-Docker launcher of every edge-node image.
# The same bytes go into every image; POSIX sh only. The images run it under an init
# (ENTRYPOINT ["/usr/bin/docker-init", "--", "/usr/local/bin/entrypoint.sh"], docker-init being
# Docker's tini), which forwards signals to it and reaps zombies; the images have no CMD.
#
# EE_DD unset, empty, 0, false, no or off (any case): exec the command at once (without one,
#   an interactive shell: bash, else sh). Nothing else happens and nothing is written.
# Any other EE_DD value: start dockerd, wait until `docker info` answers, then run the command
#   and stay as its supervisor: SIGTERM/SIGINT/SIGHUP/SIGQUIT go to the command; when it ends,
#   dockerd is stopped (see below) and the container exits with the command's status.
#   Without a command (the image default) dockerd is the container's service, as in
#   docker:dind: the container stays up until it is stopped, and exits 0 after a clean stop.
#   Stopping: the inner containers get their stop signal first, all at once, then dockerd gets
#   SIGTERM; the whole shutdown is bounded by DOCKERD_STOP_TIMEOUT, which by default fits in
#   the 10 s `docker stop` grants before its SIGKILL.
#   dockerd's own output goes to the container's stderr (`docker logs`, bounded by Docker's log
#   driver), never to a file that grows inside the container. If dockerd does not answer in
#   time, or dies, the reason goes to stderr and the exit status is 1. The entrypoint's own
#   messages always go to stderr, never to stdout.
#
# Settings (environment), used only when EE_DD is on:
#   DOCKERD_START_TIMEOUT   seconds to wait for `docker info` (default 60)
#   DOCKERD_STOP_TIMEOUT    seconds the whole shutdown may take (default 8: inside the default
#                           grace of `docker stop`). The inner containers get all but 3 of
#                           them (at least 1) before they are killed, dockerd the rest before
#                           SIGKILL. A larger value needs a larger grace: `docker stop -t 40`
#   DOCKERD_STORAGE_DRIVER  storage driver (DOCKER_DRIVER is read too). Default: overlay2 if a
#                           test overlay mount works in the data root, else fuse-overlayfs if
#                           /dev/fuse and the binary exist, else vfs
#   DOCKERD_DATA_ROOT       dockerd --data-root (default /var/lib/docker; a volume there lets
#                           overlay2 work)
#   DOCKER_TLS_CERTDIR      where TLS material lives (default /certs): ca/, server/, client/
#                           (DOCKER_CERT_PATH for clients). Renewed at every start: the server
#                           and client certificates are issued again; the CA this script made
#                           (CN "edge-node dockerd CA") is made again when it expires within
#                           30 days; a CA of your own (any other) is kept and used as it is.
#                           dockerd listens on the unix socket and on
#                           tcp://0.0.0.0:2376 with --tlsverify. Set it to the empty string for
#                           no TLS: dockerd then listens on its unix socket only.
#   DOCKERD_TCP             with DOCKER_TLS_CERTDIR='' only: 1 (true, yes, on) adds plain tcp on
#                           0.0.0.0:2375, without TLS or any authentication (anyone who reaches
#                           the port is root on the host: only on trusted networks). Default:
#                           no TCP listener.
#   DOCKER_TLS_SAN          extra subjectAltNames of the server certificate, e.g.
#                           "DNS:edge-1 IP:10.0.0.5"
#   DOCKERD_ARGS            extra dockerd arguments, split on whitespace
# Needs: dockerd, docker (CLI), openssl; uses iptables-legacy when nftables does not work.

ee_dd=${EE_DD-}
case $ee_dd in
  '' | 0 | [Ff][Aa][Ll][Ss][Ee] | [Nn][Oo] | [Oo][Ff][Ff])
    if [ "$#" -eq 0 ]; then
      # The image default: an interactive shell.
      if command -v bash >/dev/null 2>&1; then set -- bash; else set -- sh; fi
    fi
    exec "$@"
    ;;
esac

set -u
me=entrypoint.sh
log() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { log "$*"; exit 1; }

start_timeout=${DOCKERD_START_TIMEOUT:-60}
stop_timeout=${DOCKERD_STOP_TIMEOUT:-8}
data_root=${DOCKERD_DATA_ROOT:-/var/lib/docker}
socket=unix:///var/run/docker.sock

for setting in "DOCKERD_START_TIMEOUT=$start_timeout" "DOCKERD_STOP_TIMEOUT=$stop_timeout"; do
  value=${setting#*=}
  case $value in
    '' | *[!0-9]*) value=0 ;;
  esac
  if [ "$value" -le 0 ]; then
    log "${setting%%=*} must be a positive number of seconds, got '${setting#*=}'"
    exit 2
  fi
done
for tool in dockerd docker; do
  command -v "$tool" >/dev/null 2>&1 || die "EE_DD=$ee_dd but '$tool' is not installed"
done

# Run the docker CLI against the local engine only, whatever the command's own environment says,
# for at most $1 seconds.
docker_within() {
  (
    unset DOCKER_HOST DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH
    seconds=$1
    shift
    if command -v timeout >/dev/null 2>&1; then
      exec timeout "$seconds" docker --host "$socket" "$@"
    fi
    exec docker --host "$socket" "$@"
  )
}
local_docker() { docker_within 10 "$@"; }

# True while the process runs; false once it is gone or a zombie (not yet reaped: kill -0 would
# still succeed on it).
alive() {
  [ -r "/proc/$1/stat" ] || return 1
  stat_line=
  read -r stat_line 2>/dev/null <"/proc/$1/stat" || return 1
  stat_line=${stat_line##*) }
  case $stat_line in Z* | X* | '') return 1 ;; esac
  return 0
}

# ------------------------------------------------------------------------------ signals
exit_for_signal() {
  case $1 in HUP) exit 129 ;; INT) exit 130 ;; QUIT) exit 131 ;; *) exit 143 ;; esac
}

# A signal that arrives before the command runs stops the start-up; later ones go to the
# process being supervised ($child).
child=
service=
pending_signal=
got_signal=
signalled=
# shellcheck disable=SC2329 # invoked by the traps below
on_signal() {
  got_signal=$1
  signalled=$1
  if [ -n "$service" ]; then
    :
  elif [ -n "$child" ]; then
    kill "-$1" "$child" 2>/dev/null
  else
    pending_signal=$1
  fi
}
trap 'on_signal TERM' TERM
trap 'on_signal INT' INT
trap 'on_signal HUP' HUP
trap 'on_signal QUIT' QUIT

if local_docker info >/dev/null 2>&1; then
  log "a Docker engine already answers on $socket: not starting another"
  if [ "$#" -eq 0 ]; then
    exit 0
  fi
  exec "$@"
fi

# ------------------------------------------------------------------------------ cgroup v2
# With its own cgroup namespace (cgroup v2, --privileged) the container's processes sit in the
# root cgroup, where controllers cannot be delegated: move them to /init first, as moby's
# hack/dind does. Only when this cgroupfs really is our namespace's root (our pid is listed in
# it), never on a bind-mounted host hierarchy.
if [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup/cgroup.subtree_control ] \
  && grep -qx "$$" /sys/fs/cgroup/cgroup.procs 2>/dev/null; then
  mkdir -p /sys/fs/cgroup/init
  while read -r pid; do
    echo "$pid" 2>/dev/null >/sys/fs/cgroup/init/cgroup.procs
  done </sys/fs/cgroup/cgroup.procs
  controllers=
  read -r controllers </sys/fs/cgroup/cgroup.controllers
  for c in $controllers; do
    echo "+$c" 2>/dev/null >/sys/fs/cgroup/cgroup.subtree_control \
      || log "cgroup v2: cannot delegate the $c controller"
  done
fi

# ------------------------------------------------------------------------------ storage
overlay_works() {
  probe=$(mktemp -d "$1/.entrypoint-overlay-probe.XXXXXX" 2>/dev/null) || return 1
  mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged" 2>/dev/null || return 1
  ok=1
  if mount -t overlay overlay \
    -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" \
    2>/dev/null; then
    ok=0
    umount "$probe/merged" 2>/dev/null
  fi
  rm -rf "$probe"
  return "$ok"
}

mkdir -p "$data_root" || die "cannot create the data root $data_root"
driver=${DOCKERD_STORAGE_DRIVER:-${DOCKER_DRIVER:-}}
driver_flag=yes
if [ -z "$driver" ] && grep -qs '"storage-driver"' /etc/docker/daemon.json; then
  driver_flag=  # daemon.json chooses; passing the flag too would make dockerd refuse to start
  driver="from /etc/docker/daemon.json"
elif [ -n "$driver" ]; then
  :
elif overlay_works "$data_root"; then
  driver=overlay2
elif [ -c /dev/fuse ] && command -v fuse-overlayfs >/dev/null 2>&1; then
  driver=fuse-overlayfs
else
  driver=vfs
  log "overlay2 does not work in $data_root and fuse-overlayfs is not available: using vfs" \
    "(slow, uses much disk; a volume on $data_root or --device /dev/fuse avoids it)"
fi

# ------------------------------------------------------------------------------ pid files
# Left behind by an engine that was killed (container restarted); dockerd and containerd refuse
# to start while they exist.
rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid \
  /run/docker.pid /run/docker/containerd/containerd.pid

# ------------------------------------------------------------------------------ iptables
# Images ship the nftables flavour of iptables; kernels or sandboxes without nf_tables need the
# legacy one. The switch is made for dockerd only, through PATH, without touching the system.
dockerd_path=$PATH
if ! iptables -nL >/dev/null 2>&1; then
  if command -v iptables-legacy >/dev/null 2>&1 && iptables-legacy -nL >/dev/null 2>&1; then
    legacy_dir=/run/entrypoint-iptables-legacy
    mkdir -p "$legacy_dir"
    for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
      target=$(command -v "${tool%%-*}-legacy${tool#"${tool%%-*}"}" 2>/dev/null) \
        && ln -sf "$target" "$legacy_dir/$tool"
    done
    dockerd_path=$legacy_dir:$PATH
    log "iptables (nftables) does not work here: dockerd uses iptables-legacy"
  else
    log "neither iptables nor iptables-legacy works here: dockerd will probably fail"
  fi
fi

# ------------------------------------------------------------------------------ TLS
# CA in ca/: kept if present (a user-provided CA is used as is; without its key, existing
# server certificates are used as they are), except the CA this script made itself, which is
# made again when it expires within 30 days. Server and client certificates are issued again at
# every start, so they never expire on a running node and the server's names follow the
# container's hostname and addresses.
generated_ca_cn="edge-node dockerd CA"
renew_before=$((30 * 24 * 3600))

# openssl, with its chatter (stdout too: never ours to use) kept back unless it fails.
ossl() {
  ossl_err=$(mktemp) || return 1
  if openssl "$@" >"$ossl_err" 2>&1; then
    rm -f "$ossl_err"
    return 0
  fi
  log "openssl $1 failed: $(cat "$ossl_err" 2>/dev/null)"
  rm -f "$ossl_err"
  return 1
}

tls_key() {
  [ -s "$1" ] || ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

tls_issue() { # dir common-name extensions-file
  tls_key "$1/key.pem" || return 1
  ossl req -new -key "$1/key.pem" -subj "/CN=$2" -out "$1/csr.pem" || return 1
  # An explicit random serial: no serial file next to the CA, which may be read-only.
  serial=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  ossl x509 -req -in "$1/csr.pem" -CA "$certdir/ca/cert.pem" -CAkey "$certdir/ca/key.pem" \
    -set_serial "0x$serial" -days 825 -sha256 -extfile "$3" -out "$1/cert.pem" || return 1
  rm -f "$1/csr.pem"
  cp "$certdir/ca/cert.pem" "$1/ca.pem" || return 1
  ossl verify -CAfile "$1/ca.pem" "$1/cert.pem"
}

# True when the certificate in $1 is still valid $renew_before seconds from now.
tls_lasts() {
  openssl x509 -noout -checkend "$renew_before" -in "$1" >/dev/null 2>&1
}

tls_generate() {
  umask 077
  mkdir -p "$certdir/ca" "$certdir/server" "$certdir/client" || return 1
  if [ -s "$certdir/ca/cert.pem" ] && ! tls_lasts "$certdir/ca/cert.pem"; then
    subject=$(openssl x509 -noout -subject -nameopt RFC2253 -in "$certdir/ca/cert.pem" 2>/dev/null)
    if [ "$subject" = "subject=CN=$generated_ca_cn" ] && [ -s "$certdir/ca/key.pem" ]; then
      log "the CA in $certdir/ca (made here) expires within 30 days or has expired:" \
        "making a new one; clients need the new $certdir/client material"
      rm -f "$certdir/ca/cert.pem" "$certdir/ca/key.pem" || return 1
    else
      log "WARNING: the CA in $certdir/ca (yours: kept) expires within 30 days or has expired"
    fi
  fi
  if [ ! -s "$certdir/ca/cert.pem" ]; then
    tls_key "$certdir/ca/key.pem" || return 1
    ossl req -new -x509 -key "$certdir/ca/key.pem" -days 825 -sha256 \
      -subj "/CN=$generated_ca_cn" -out "$certdir/ca/cert.pem" || return 1
  elif [ ! -s "$certdir/ca/key.pem" ]; then
    if [ -s "$certdir/server/cert.pem" ] && [ -s "$certdir/server/key.pem" ] \
      && [ -s "$certdir/server/ca.pem" ]; then
      log "no $certdir/ca/key.pem: using the server certificate in $certdir/server as it is"
      tls_lasts "$certdir/server/cert.pem" \
        || log "WARNING: $certdir/server/cert.pem expires within 30 days or has expired"
      return 0
    fi
    log "$certdir/ca/cert.pem comes without ca/key.pem: provide the CA key, or" \
      "server/{ca,cert,key}.pem"
    return 1
  fi

  ext=$(mktemp) || return 1
  san="DNS:localhost,DNS:docker,IP:127.0.0.1,IP:::1"
  host=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null) && [ -n "$host" ] \
    && san="$san,DNS:$host"
  for ip in $(hostname -i 2>/dev/null); do
    case $ip in *[!0-9a-fA-F.:]* | '') ;; *) san="$san,IP:$ip" ;; esac
  done
  for extra in ${DOCKER_TLS_SAN:-}; do
    san="$san,$extra"
  done
  printf 'subjectAltName = %s\nextendedKeyUsage = serverAuth\n' "$san" >"$ext"
  tls_issue "$certdir/server" dockerd "$ext" || return 1
  printf 'extendedKeyUsage = clientAuth\n' >"$ext"
  tls_issue "$certdir/client" docker-client "$ext" || return 1
  rm -f "$ext"
  # Clients may run as other users or in other containers sharing the volume (docker:dind does
  # the same); the CA and server keys stay private.
  chmod 0755 "$certdir" "$certdir/client" 2>/dev/null
  chmod 0644 "$certdir/client/"*.pem 2>/dev/null
  return 0
}

certdir=
plain_tcp=
if [ "${DOCKER_TLS_CERTDIR+set}" = set ] && [ -z "$DOCKER_TLS_CERTDIR" ]; then
  case ${DOCKERD_TCP:-} in
    1 | [Tt][Rr][Uu][Ee] | [Yy][Ee][Ss] | [Oo][Nn])
      plain_tcp=yes
      listen="and tcp://0.0.0.0:2375 WITHOUT TLS OR AUTHENTICATION (DOCKERD_TCP=$DOCKERD_TCP)"
      ;;
    '' | 0 | [Ff][Aa][Ll][Ss][Ee] | [Nn][Oo] | [Oo][Ff][Ff])
      listen="only (DOCKER_TLS_CERTDIR is empty: no TLS, so no TCP listener unless DOCKERD_TCP=1)"
      ;;
    *)
      log "DOCKERD_TCP must be 1/true/yes/on or 0/false/no/off, got '$DOCKERD_TCP'"
      exit 2
      ;;
  esac
else
  certdir=${DOCKER_TLS_CERTDIR:-/certs}
  command -v openssl >/dev/null 2>&1 || die "TLS needs openssl (or set DOCKER_TLS_CERTDIR='')"
  (tls_generate) || die "could not create TLS material in $certdir"
  listen="and tcp://0.0.0.0:2376 with TLS (client certificates: $certdir/client)"
fi

# ------------------------------------------------------------------------------ start dockerd
# A function, so that its positional parameters hold dockerd's arguments and "$@" (the command)
# stays untouched.
start_dockerd() {
  set -- --host="$socket" --data-root="$data_root"
  if [ -n "$driver_flag" ]; then
    set -- "$@" --storage-driver="$driver"
  fi
  if [ -n "$certdir" ]; then
    set -- "$@" --host=tcp://0.0.0.0:2376 --tlsverify --tlscacert="$certdir/server/ca.pem" \
      --tlscert="$certdir/server/cert.pem" --tlskey="$certdir/server/key.pem"
  elif [ -n "$plain_tcp" ]; then
    # --tls=false says the plain port is intended: dockerd 20.10-26 otherwise delays its start
    # by 15 s to show a warning, and 27+ refuses to start.
    set -- "$@" --host=tcp://0.0.0.0:2375 --tls=false
  fi
  # shellcheck disable=SC2086 # DOCKERD_ARGS is a whitespace-separated list on purpose
  set -- "$@" ${DOCKERD_ARGS:-}
  # Its own session: a Ctrl-C on the terminal reaches the command, not dockerd, which is stopped
  # only once the command has ended.
  if command -v setsid >/dev/null 2>&1; then
    set -- setsid dockerd "$@"
  else
    set -- dockerd "$@"
  fi
  # Its output (stdout too: never the command's) goes to our stderr, i.e. `docker logs`.
  PATH=$dockerd_path "$@" </dev/null 1>&2 &
  dockerd_pid=$!
}
start_dockerd

# Stop the inner containers (their stop signal, all at once), then dockerd, all within
# DOCKERD_STOP_TIMEOUT seconds; sets $dockerd_status (0: dockerd stopped cleanly).
stop_dockerd() {
  dockerd_status=0
  if alive "$dockerd_pid"; then
    deadline=$(($(date +%s) + stop_timeout))
    grace=$((stop_timeout - 3))
    [ "$grace" -ge 1 ] || grace=1
    running=$(local_docker ps --quiet 2>/dev/null)
    if [ -n "$running" ]; then
      # shellcheck disable=SC2086 # one container id per word
      docker_within "$((grace + 2))" stop --time "$grace" $running >/dev/null 2>&1 \
        || log "could not stop every inner container in ${grace}s: dockerd stops the rest"
    fi
    kill -TERM "$dockerd_pid" 2>/dev/null
    while alive "$dockerd_pid"; do
      if [ "$(date +%s)" -ge "$deadline" ]; then
        log "dockerd did not stop within DOCKERD_STOP_TIMEOUT=${stop_timeout}s: killing it"
        kill -KILL "$dockerd_pid" 2>/dev/null
        break
      fi
      sleep 0.2 2>/dev/null || sleep 1
    done
  fi
  wait "$dockerd_pid" 2>/dev/null
  dockerd_status=$?
  return 0
}

started=$(date +%s)
while ! info_error=$(local_docker info 2>&1 >/dev/null); do
  if [ -n "$pending_signal" ]; then
    log "got SIG$pending_signal while dockerd was starting: stopping"
    stop_dockerd
    exit_for_signal "$pending_signal"
  fi
  if ! alive "$dockerd_pid"; then
    wait "$dockerd_pid" 2>/dev/null
    log "dockerd exited (status $?) before it answered" \
      "(storage driver: $driver; does the container have the privileges DinD needs?" \
      "dockerd's own messages are above)"
    exit 1
  fi
  if [ $(($(date +%s) - started)) -ge "$start_timeout" ]; then
    log "dockerd did not answer within DOCKERD_START_TIMEOUT=${start_timeout}s" \
      "(storage driver: $driver); docker info said: $info_error"
    stop_dockerd
    exit 1
  fi
  sleep 0.2 2>/dev/null || sleep 1
done
log "dockerd ready in $(($(date +%s) - started))s: storage driver $driver, listening on" \
  "$socket $listen"

# ------------------------------------------------------------------------------ run and supervise
# Wait for $child, also across signals (a trapped signal interrupts `wait`); sets $status.
supervise() {
  while :; do
    got_signal=
    wait "$child"
    status=$?
    [ -z "$got_signal" ] && return 0
    if ! alive "$child"; then
      # Gone: either that wait already returned its real status just before the trap ran (a
      # second wait then says 127, unknown pid), or its status is still to be collected.
      wait "$child" 2>/dev/null
      again=$?
      [ "$again" -ne 127 ] && status=$again
      return 0
    fi
  done
}

if [ "$#" -eq 0 ]; then
  # No command: dockerd is the service. A stop signal stops the inner containers, then dockerd
  # (on_signal only notes it while $service is set).
  service=yes
  child=$dockerd_pid
  status=1
  while [ -z "$signalled" ] && alive "$dockerd_pid"; do
    wait "$dockerd_pid"
    status=$?
  done
  if [ -n "$signalled" ]; then
    log "got SIG$signalled: stopping the inner containers, then dockerd"
    stop_dockerd
    [ "$dockerd_status" -eq 0 ] || log "dockerd exited with status $dockerd_status"
    exit "$dockerd_status"
  fi
  # Gone on its own: its status is collected by now, or still to be collected.
  wait "$dockerd_pid" 2>/dev/null
  again=$?
  [ "$again" -ne 127 ] && status=$again
  log "dockerd exited on its own with status $status"
  [ "$status" -ne 0 ] || status=1
  exit "$status"
fi

# Background commands of a non-interactive shell get /dev/null as stdin and ignore SIGINT and
# SIGQUIT: hand the real stdin over explicitly, and reset those signals where env can.
# (`command exec`: a failing redirection, when stdin is closed, must not end the shell; the
# braces keep the 2>/dev/null from sticking to the shell as exec's redirections do.)
{ command exec 3<&0; } 2>/dev/null || command exec 3</dev/null
reset_signals=
env --default-signal=INT,QUIT true >/dev/null 2>&1 && reset_signals="env --default-signal=INT,QUIT"
if [ -n "$pending_signal" ]; then
  log "got SIG$pending_signal before the command started: stopping"
  stop_dockerd
  exit_for_signal "$pending_signal"
fi
# shellcheck disable=SC2086 # $reset_signals is empty or a command prefix
$reset_signals "$@" <&3 3<&- &
child=$!
exec 3<&-
# A signal that came while the command was being started found no $child yet.
if [ -n "$pending_signal" ]; then
  kill "-$pending_signal" "$child" 2>/dev/null
fi
supervise
stop_dockerd
exit "$status"
