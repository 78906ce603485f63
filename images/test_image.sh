#!/bin/sh
# test_image.sh: test one built edge-node image on this host. POSIX sh; needs only
# a docker CLI and engine (no Python, no jq on the host: the image's own python3 reads the probe).
# `bakery test` is a thin driver around this script, so both always check the same things.
#
#   images/test_image.sh IMAGE [--expect-file FILE]
#
# Prints one line per check: `PASS <check>`, `SKIP <check>: <reason>` or
# `FAIL <check>: expected X, found Y`, then a summary line. Exit 0 when nothing failed, 1 when a
# check failed, 2 for usage errors or when no Docker engine answers.
#
# Expectations (environment, or KEY=VALUE lines in --expect-file, which win over the
# environment; `bakery test --target T --print-env` writes such a file). Unset = not checked,
# and the skip is printed with its reason:
#   EXPECT_PLATFORM     linux/amd64 | linux/arm64: the image's platform (default: what
#                       `docker image inspect` says, else the host's)
#   EXPECT_ARCH         `uname -m` inside the image (x86_64, aarch64)
#   EXPECT_ACCELERATOR  cpu | cuda (cpu: the GPU checks are skipped)
#   EXPECT_PYTHON, EXPECT_TORCH, EXPECT_TORCHVISION, EXPECT_TORCHAUDIO, EXPECT_TRANSFORMERS,
#   EXPECT_TOKENIZERS   exact versions (torch with its local tag, e.g. 2.9.1+cpu)
#   EXPECT_TORCH_CUDA   the CUDA version torch was built for (12.8), or `none`
#   EXPECT_FFMPEG, EXPECT_NODE, EXPECT_NPM, EXPECT_DOCKER, EXPECT_DOCKERD, EXPECT_NGROK,
#   EXPECT_UV           tool versions. ffmpeg, node and ngrok must be present in any case.
#   EXPECT_PACKAGES     "dist=version dist=absent ...": more distributions (feature packages)
# Always checked: `uv pip check` passes.
#
# Settings:
#   SKIP_NESTED=1       skip the nested Docker check
#   NESTED_VIA          embedded (default): start the image's own dockerd (EE_DD=true) with
#                       DIND_RUN_FLAGS; socket: use the host engine through DOCKER_SOCKET
#   DIND_RUN_FLAGS      flags that let dockerd run in the container (default --privileged; on
#                       hosts that refuse it, e.g. "--cap-add ALL --cap-drop SYS_RESOURCE
#                       --security-opt seccomp=unconfined --security-opt apparmor=unconfined
#                       --security-opt systempaths=unconfined --device /dev/fuse
#                       -v /sys/fs/cgroup:/sys/fs/cgroup:rw")
#   NESTED_IMAGE_TAR    a `docker save` tar loaded and run inside (for hosts without a
#                       registry); its image must have `echo`. Without it NESTED_IMAGE (default
#                       hello-world) is pulled and run.
#   DOCKER_SOCKET       host socket for NESTED_VIA=socket (default /var/run/docker.sock)
#   PROBE               the probe program (default: ../bakery/verify/probe.py from this script)
#   BINFMT_DIR          where qemu binfmt handlers are registered (/proc/sys/fs/binfmt_misc)

set -u

me=test_image.sh
usage() {
  echo "usage: $me IMAGE [--expect-file FILE]" >&2
  echo "       (expectations as EXPECT_* variables; see the comment at the top of $0)" >&2
  exit 2
}
die() {
  echo "$me: error: $*" >&2
  exit 2
}

image=
expect_file=
while [ "$#" -gt 0 ]; do
  case $1 in
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    --expect-file) [ "$#" -ge 2 ] || usage; expect_file=$2; shift 2 ;;
    --expect-file=*) expect_file=${1#*=}; shift ;;
    -*) echo "$me: unknown option: $1" >&2; usage ;;
    *) [ -z "$image" ] || usage; image=$1; shift ;;
  esac
done
[ -n "$image" ] || usage

# ------------------------------------------------------------------------------ expect file
if [ -n "$expect_file" ]; then
  [ -r "$expect_file" ] || die "--expect-file $expect_file: cannot read it"
  lineno=0
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    case $line in '' | '#'*) continue ;; esac
    key=${line%%=*}
    value=${line#*=}
    case $line in *=*) ;; *) die "$expect_file:$lineno: expected KEY=VALUE, got '$line'" ;; esac
    case $key in
      '' | [0-9]* | *[!A-Z0-9_]*) die "$expect_file:$lineno: '$key' is not a variable name" ;;
      EXPECT_* | SKIP_NESTED | NESTED_* | DIND_RUN_FLAGS | DOCKER_SOCKET) ;;
      *) die "$expect_file:$lineno: unknown setting '$key'" ;;
    esac
    case $value in
      \"*\") value=${value#\"}; value=${value%\"} ;;
      \'*\') value=${value#\'}; value=${value%\'} ;;
    esac
    eval "$key=\$value"
    export "${key?}"
  done <"$expect_file"
fi

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "PASS $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1: $2"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: expected $2, found $3"; }
summary() {
  echo "SUMMARY $image: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
  exit $?
}

# ------------------------------------------------------------------------------ host
# Both names of an architecture map to Docker's: x86_64 -> amd64, aarch64 -> arm64.
docker_arch() {
  case $1 in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    armv7l | armhf | arm) echo arm ;;
    *) echo "$1" ;;
  esac
}
# The name qemu's binfmt handler is registered under.
qemu_name() {
  case $1 in
    amd64) echo x86_64 ;;
    arm64) echo aarch64 ;;
    *) echo "$1" ;;
  esac
}

command -v docker >/dev/null 2>&1 || die "no docker CLI on PATH"
engine_arch=$(docker info --format '{{.Architecture}}' 2>&1) \
  || die "no Docker engine answers: $(printf '%s\n' "$engine_arch" | head -n 1)"
uname_arch=$(uname -m)
host=$(docker_arch "$engine_arch")
echo "host: uname -m $uname_arch, docker engine architecture $engine_arch (linux/$host)"
if [ "$(docker_arch "$uname_arch")" != "$host" ]; then
  echo "note: the CLI host ($uname_arch) and the engine ($engine_arch) differ; the engine decides"
fi

platform=${EXPECT_PLATFORM:-}
if [ -z "$platform" ]; then
  platform=$(docker image inspect --format '{{.Os}}/{{.Architecture}}' "$image" 2>/dev/null) \
    || platform=
  if [ -z "$platform" ]; then
    platform=linux/$host
    echo "platform: EXPECT_PLATFORM is not set and $image is not local: assuming $platform"
  fi
fi
image_arch=$(docker_arch "${platform#*/}")
platform_flag=
if [ "$image_arch" != "$host" ]; then
  handler=${BINFMT_DIR:-/proc/sys/fs/binfmt_misc}/qemu-$(qemu_name "$image_arch")
  if [ -r "$handler" ] && grep -qx enabled "$handler"; then
    echo "platform: $platform on a linux/$host host, emulated by qemu ($handler)"
    platform_flag=--platform=$platform
  else
    skip image "$platform does not match the linux/$host host and no qemu binfmt handler is\
 registered ($handler); run it on a $image_arch host or register qemu-user-static"
    summary
  fi
else
  echo "platform: $platform matches the host"
fi

# `docker run --rm` of the image, with --platform when emulated.
run_image() {
  # shellcheck disable=SC2086 # platform_flag is empty or one word
  docker run --rm $platform_flag "$@"
}

# ------------------------------------------------------------------------------ probe
probe=${PROBE:-$(dirname "$0")/../bakery/verify/probe.py}
[ -r "$probe" ] || die "the probe $probe is missing (set PROBE to bakery/verify/probe.py)"

# Runs in the image's python3: runs the probe (read from stdin) and prints its JSON report as
# flat `key=value` lines the shell can read; a null value gets no line.
flatten='
import contextlib, io, json, sys
source = sys.stdin.read()
out = io.StringIO()
sys.argv = ["probe.py"] + sys.argv[1:]
with contextlib.redirect_stdout(out):
    exec(compile(source, "probe.py", "exec"), {"__name__": "__main__"})
report = json.loads(out.getvalue().strip().splitlines()[-1])
def emit(key, value):
    if value is not None:
        print(key + "=" + " | ".join(str(value).splitlines()))
emit("arch", report.get("arch"))
emit("python", report.get("python"))
for name, version in (report.get("packages") or {}).items():
    emit("package." + name, version)
emit("torch_cuda", report.get("torch_cuda"))
for name, version in (report.get("tools") or {}).items():
    emit("tool." + name, version)
check = report.get("uv_pip_check")
if check is not None:
    emit("uv_pip_check", "ok" if check.get("ok") else "failed: " + str(check.get("output")))
for name, message in (report.get("errors") or {}).items():
    emit("error." + name, message)
'

dists=
for pair in ${EXPECT_PACKAGES:-}; do
  dists="$dists ${pair%%=*}"
done
# shellcheck disable=SC2086 # dists: one word per distribution name
report=$(run_image -i --network none --entrypoint python3 "$image" -c "$flatten" $dists \
  <"$probe" 2>&1)
probe_status=$?

# found KEY: print the probe's value for KEY; status 1 when the probe has none.
found() {
  printf '%s\n' "$report" | awk -v key="$1=" \
    'index($0, key) == 1 { print substr($0, length(key) + 1); hit = 1; exit } END { exit !hit }'
}

# check NAME EXPECTED KEY: assert the probe's KEY equals EXPECTED ("absent": has no value).
check() {
  if value=$(found "$3"); then :; else value=; fi
  if [ "$2" = absent ]; then
    if [ -z "$value" ]; then pass "$1 absent"; else fail "$1" absent "$value"; fi
  elif [ -z "$value" ]; then
    case $3 in
      uv_pip_check) why="uv is not installed" ;;
      *) why=$(found "error.${3#*.}") || why="not installed" ;;
    esac
    fail "$1" "$2" "absent ($why)"
  elif [ "$value" = "$2" ]; then
    pass "$1 $value"
  else
    fail "$1" "$2" "$value"
  fi
}

# expect NAME VARIABLE KEY: `check` when the variable is set, else a reasoned skip.
expect() {
  eval "wanted=\${$2:-}"
  if [ -n "$wanted" ]; then
    check "$1" "$wanted" "$3"
  else
    skip "$1" "$2 is not set"
  fi
}

if [ "$probe_status" -ne 0 ] || ! found python >/dev/null; then
  why=$(printf '%s\n' "$report" | grep -i error | head -n 1)
  [ -n "$why" ] || why=$(printf '%s\n' "$report" | tail -n 1)
  fail probe "a JSON report from $probe" "$why"
  skip versions "the probe did not run"
else
  expect python EXPECT_PYTHON python
  expect arch EXPECT_ARCH arch
  for name in torch torchvision torchaudio transformers tokenizers; do
    variable=EXPECT_$(echo "$name" | tr '[:lower:]' '[:upper:]')
    expect "$name" "$variable" "package.$name"
  done
  if [ -n "${EXPECT_TORCH_CUDA:-}" ] && [ "${EXPECT_TORCH_CUDA}" = none ] \
    && found package.torch >/dev/null && ! found torch_cuda >/dev/null \
    && ! found error.torch_cuda >/dev/null; then
    pass "torch cuda none"
  else
    expect "torch cuda" EXPECT_TORCH_CUDA torch_cuda
  fi
  for name in ffmpeg node npm docker dockerd ngrok uv; do
    variable=EXPECT_$(echo "$name" | tr '[:lower:]' '[:upper:]')
    eval "wanted=\${$variable:-}"
    if [ -n "$wanted" ]; then
      check "$name" "$wanted" "tool.$name"
    else
      case $name in
        ffmpeg | node | ngrok)
          if value=$(found "tool.$name"); then
            pass "$name present ($value)"
          else
            why=$(found "error.$name") || why="not on PATH"
            fail "$name" present "absent ($why)"
          fi
          ;;
        *) skip "$name" "$variable is not set" ;;
      esac
    fi
  done
  for pair in ${EXPECT_PACKAGES:-}; do
    case $pair in
      ?*=?*) check "${pair%%=*}" "${pair#*=}" "package.${pair%%=*}" ;;
      *) fail EXPECT_PACKAGES "dist=version or dist=absent" "'$pair'" ;;
    esac
  done
  [ -n "${EXPECT_PACKAGES:-}" ] || skip packages "EXPECT_PACKAGES is not set"
  check "uv pip check" ok uv_pip_check
fi

# ------------------------------------------------------------------------------ GPU
gpu_skip() {
  skip "gpu nvidia-smi" "$1"
  skip "gpu torch.cuda" "$1"
}
if [ "${EXPECT_ACCELERATOR:-}" = cpu ]; then
  gpu_skip "a cpu image (EXPECT_ACCELERATOR=cpu)"
elif ! command -v nvidia-smi >/dev/null 2>&1; then
  gpu_skip "nvidia-smi is not on this host's PATH (no NVIDIA driver)"
elif ! nvidia-smi -L >/dev/null 2>&1; then
  gpu_skip "nvidia-smi does not work on this host: $(nvidia-smi -L 2>&1 | head -n 1)"
elif ! gpu_error=$(run_image --gpus all --entrypoint true "$image" 2>&1); then
  gpu_skip "the engine refuses --gpus all: $(printf '%s\n' "$gpu_error" | tail -n 1)"
else
  if gpu_out=$(run_image --gpus all --entrypoint nvidia-smi "$image" -L 2>&1); then
    pass "gpu nvidia-smi $(printf '%s\n' "$gpu_out" | head -n 1)"
  else
    fail "gpu nvidia-smi" "a GPU listed" "$(printf '%s\n' "$gpu_out" | tail -n 1)"
  fi
  gpu_out=$(run_image --gpus all --entrypoint python3 "$image" -c \
    'import torch; print(torch.cuda.is_available())' 2>&1)
  case $gpu_out in
    *True) pass "gpu torch.cuda available" ;;
    *) fail "gpu torch.cuda" "torch.cuda.is_available() True" \
      "$(printf '%s\n' "$gpu_out" | tail -n 1)" ;;
  esac
fi

# ------------------------------------------------------------------------------ nested Docker
via=${NESTED_VIA:-embedded}
nested_tar=${NESTED_IMAGE_TAR:-}
# The inner script: load the tar (when given) and run its image, else run NESTED_IMAGE.
# shellcheck disable=SC2016 # expanded by the shell inside the image
if [ -n "$nested_tar" ]; then
  inner='ref=$(docker load -i /nested-image.tar | sed -n "s/^Loaded image[^:]*: //p" | head -n 1)
[ -n "$ref" ] || { echo "docker load found no image in the tar"; exit 1; }
docker run --rm "$ref" echo nested-ok'
  nested_what="the image from $nested_tar"
else
  # shellcheck disable=SC2016 # expanded by the shell inside the image
  inner='docker run --rm "$1" >/dev/null && echo nested-ok'
  nested_what=${NESTED_IMAGE:-hello-world}
fi

# nested_run FLAGS...: run the inner script in the image through its own entrypoint.
nested_run() {
  set -- "$@" "$image" sh -c "$inner" sh "${NESTED_IMAGE:-hello-world}"
  if [ -n "$nested_tar" ]; then
    set -- -v "$nested_tar:/nested-image.tar:ro" "$@"
  fi
  run_image --name "$nested_name" "$@"
}

nested_name=test-image-nested-$$
if [ "${SKIP_NESTED:-0}" != 0 ] && [ -n "${SKIP_NESTED:-}" ]; then
  skip "nested docker" "SKIP_NESTED=$SKIP_NESTED"
elif [ -n "$nested_tar" ] && [ ! -r "$nested_tar" ]; then
  fail "nested docker" "a readable NESTED_IMAGE_TAR" "'$nested_tar' missing"
else
  trap 'docker rm -f "$nested_name" >/dev/null 2>&1' EXIT
  trap 'exit 130' INT TERM
  case $via in
    embedded)
      # shellcheck disable=SC2086 # DIND_RUN_FLAGS is a list of flags, split on whitespace
      nested_out=$(nested_run -e EE_DD=true ${DIND_RUN_FLAGS:---privileged} 2>&1)
      ;;
    socket)
      socket=${DOCKER_SOCKET:-/var/run/docker.sock}
      nested_out=$(nested_run -e EE_DD=false -v "$socket:/var/run/docker.sock" 2>&1)
      ;;
    *) die "NESTED_VIA must be embedded or socket, got '$via'" ;;
  esac
  case $nested_out in
    *nested-ok*) pass "nested docker via $via ($nested_what ran inside)" ;;
    *) fail "nested docker via $via" "$nested_what to run inside" \
      "$(printf '%s\n' "$nested_out" | grep -v '^$' | tail -n 3 | tr '\n' ' ')" ;;
  esac
fi

summary
