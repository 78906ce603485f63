#!/bin/sh
# test_image.sh: test one built edge-node image on this host. POSIX sh; needs only
# a docker CLI and engine (no Python, no jq on the host: the image's own python3 runs the probe,
# bakery/verify/probe.py, which also judges: the same comparison `bakery verify` makes).
# `bakery test` is a thin driver around this script, so all three check the same things.
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
#   EXPECT_UV           tool versions (compared as PEP 440 versions where they are ones)
#   EXPECT_PACKAGES     "dist=version dist=absent ...": more distributions (feature packages)
#   EXPECT_IMPORTS      "torch tensorrt ...": modules that must import
#   EXPECT_TORCH_OP     ok: a tiny torch matmul runs
#   EXPECT_PYTHON_HEADERS ok: Python.h is in sysconfig's include dir
#   EXPECT_FFMPEG_CODECS "encoder:libx264 decoder:h264 ...": what the ffmpeg profile promises
#   EXPECT_EE_DD        the image's EE_DD default (false; true for the -d variants)
#   EXPECT_PI_GATE      ok: the probe ran as a Raspberry Pi 4's Cortex-A72 (no LSE atomics);
#                       set to ok by default for an arm64 image (the gate fails closed)
# Always checked: `uv pip check` passes, and every installed distribution's top-level modules
# import (each in a child process: a module killed by SIGILL is named).
#
# The Raspberry Pi gate: an arm64 image runs as the Raspberry Pi 4's Cortex-A72. Emulated (an
# amd64 engine), qemu reads QEMU_CPU=cortex-a72; on an arm64 engine the image's python runs under
# the host's static qemu-aarch64 (qemu-user-static), mounted read-only, `-cpu cortex-a72`.
#
# Settings:
#   REQUIRE_GPU=1       a GPU check that cannot run (no driver, no --gpus) fails, not skips.
#                       On a GPU: cuDNN, conv2d and matmul on CUDA against the CPU, the deep
#                       check of each EXPECT_IMPORTS module the GPU probe has one for (TensorRT,
#                       bitsandbytes), device, driver and compute capability printed
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
#   GPU_PROBE           the GPU checks (default: ../bakery/verify/gpuprobe.py from this script)
#   BINFMT_DIR          where qemu binfmt handlers are registered (/proc/sys/fs/binfmt_misc)
#   PI_GATE_QEMU        the static qemu-aarch64 for the gate on an arm64 engine (default:
#                       qemu-aarch64-static on PATH)
#   ENGINE_ARCH         the engine architecture to act on instead of `docker info`'s (tests
#                       use arm64 to take the native arm64 branch on another host)

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
      EXPECT_* | SKIP_NESTED | NESTED_* | DIND_RUN_FLAGS | DOCKER_SOCKET | REQUIRE_GPU) ;;
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
if [ -n "${ENGINE_ARCH:-}" ]; then
  echo "host: ENGINE_ARCH=$ENGINE_ARCH replaces the engine's own architecture ($engine_arch)"
  engine_arch=$ENGINE_ARCH
fi
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
cpu_env=
# On an arm64 engine: the host's static qemu that runs the probe's python as a Cortex-A72.
gate_qemu=
if [ "$image_arch" = arm64 ]; then
  # the gate fails closed: an arm64 image's probe must have run without LSE atomics
  EXPECT_PI_GATE=${EXPECT_PI_GATE:-ok}
  export EXPECT_PI_GATE
fi
if [ "$image_arch" = arm64 ] && [ "$host" = arm64 ]; then
  platform_flag=--platform=$platform
  gate_qemu=${PI_GATE_QEMU:-$(command -v qemu-aarch64-static)}
  if [ -z "$gate_qemu" ] || [ ! -x "$gate_qemu" ]; then
    fail "pi gate" "qemu-aarch64-static on this arm64 host (apt-get install qemu-user-static)" \
      "${gate_qemu:-none on PATH}"
    skip versions "the probe did not run outside the Raspberry Pi gate"
    summary
  fi
  echo "platform: $platform on an arm64 host: the probe's python runs under $gate_qemu -cpu\
 cortex-a72 (Raspberry Pi 4)"
elif [ "$image_arch" != "$host" ]; then
  handler=${BINFMT_DIR:-/proc/sys/fs/binfmt_misc}/qemu-$(qemu_name "$image_arch")
  if [ -r "$handler" ] && grep -qx enabled "$handler"; then
    echo "platform: $platform on a linux/$host host, emulated by qemu ($handler)"
    platform_flag=--platform=$platform
    # Emulate the oldest CPU the arm64 image must run on, the Raspberry Pi 4's Cortex-A72 (no
    # LSE atomics): a wheel built for newer cores fails here, not on the devices.
    if [ "$image_arch" = arm64 ]; then
      cpu_env=QEMU_CPU=cortex-a72
      echo "platform: emulating a Cortex-A72 (Raspberry Pi 4): $cpu_env"
    fi
  else
    skip image "$platform does not match the linux/$host host and no qemu binfmt handler is\
 registered ($handler); run it on a $image_arch host or register qemu-user-static"
    summary
  fi
else
  echo "platform: $platform matches the host"
fi

# `docker run --rm` of the image, with --platform (and the CPU to emulate) when emulated.
run_image() {
  # shellcheck disable=SC2086 # platform_flag is empty or one word
  # --init: a command killed by a signal (SIGILL under the emulated Pi CPU) must die, and as
  # PID 1 under qemu it cannot.
  docker run --rm --init $platform_flag ${cpu_env:+-e "$cpu_env"} "$@"
}

# ------------------------------------------------------------------------------ probe
probe=${PROBE:-$(dirname "$0")/../bakery/verify/probe.py}
gate_path=/run/bakery-pi-gate/qemu-aarch64
[ -r "$probe" ] || die "the probe $probe is missing (set PROBE to bakery/verify/probe.py)"

# The EXPECT_* variables go into the image, where the probe judges them with the same code
# `bakery verify` uses (probe.py --expect-env: PASS/FAIL/SKIP lines).
set --
for variable in $(env | sed -n 's/^\(EXPECT_[A-Z0-9_]*\)=.*/\1/p'); do
  set -- "$@" -e "$variable"
done
if [ -n "$gate_qemu" ]; then
  # shellcheck disable=SC2016 # expanded by the shell inside the image
  checks=$(run_image -i --network none "$@" -v "$gate_qemu:$gate_path:ro" \
    -e PROBE_QEMU="$gate_path" -e PROBE_CPU=cortex-a72 --entrypoint sh "$image" -c \
    'python=$(command -v python3) || { echo "no python3 on PATH" >&2; exit 127; }
exec "$0" -cpu "$PROBE_CPU" "$python" "$@"' "$gate_path" - --expect-env <"$probe" 2>&1)
else
  checks=$(run_image -i --network none "$@" --entrypoint python3 "$image" - --expect-env \
    <"$probe" 2>&1)
fi
probe_status=$?
if [ "$probe_status" -ne 0 ] || ! printf '%s\n' "$checks" | grep -q '^\(PASS\|FAIL\) '; then
  why=$(printf '%s\n' "$checks" | grep -i error | tail -n 1)
  [ -n "$why" ] || why=$(printf '%s\n' "$checks" | tail -n 1)
  fail probe "a judgement from $probe" "$why"
  skip versions "the probe did not run"
else
  printf '%s\n' "$checks" | grep '^\(PASS\|FAIL\|SKIP\) '
  passed=$((passed + $(printf '%s\n' "$checks" | grep -c '^PASS ')))
  failed=$((failed + $(printf '%s\n' "$checks" | grep -c '^FAIL ')))
  skipped=$((skipped + $(printf '%s\n' "$checks" | grep -c '^SKIP ')))
fi

# ------------------------------------------------------------------------------ GPU
# On a GPU: bakery/verify/gpuprobe.py in the image (--gpus all) proves cuDNN, a conv2d and a
# matmul against the CPU, the deep check of each module in EXPECT_IMPORTS it has one for
# (TensorRT building an engine, a 4-bit bitsandbytes layer), and prints the device, its compute
# capability and the driver.
gpu_probe=${GPU_PROBE:-$(dirname "$0")/../bakery/verify/gpuprobe.py}
gpu_skip() {
  if [ "${REQUIRE_GPU:-0}" != 0 ] && [ -n "${REQUIRE_GPU:-}" ]; then
    fail "gpu" "a GPU check that runs (REQUIRE_GPU=$REQUIRE_GPU)" "$1"
    return
  fi
  skip "gpu nvidia-smi" "$1"
  skip "gpu checks" "$1"
}
if [ "${EXPECT_ACCELERATOR:-}" = cpu ]; then
  skip "gpu nvidia-smi" "a cpu image (EXPECT_ACCELERATOR=cpu)"
  skip "gpu checks" "a cpu image (EXPECT_ACCELERATOR=cpu)"
elif ! command -v nvidia-smi >/dev/null 2>&1; then
  gpu_skip "nvidia-smi is not on this host's PATH (no NVIDIA driver)"
elif ! nvidia-smi -L >/dev/null 2>&1; then
  gpu_skip "nvidia-smi does not work on this host: $(nvidia-smi -L 2>&1 | head -n 1)"
elif ! gpu_error=$(run_image --gpus all --entrypoint true "$image" 2>&1); then
  gpu_skip "the engine refuses --gpus all: $(printf '%s\n' "$gpu_error" | tail -n 1)"
elif [ ! -r "$gpu_probe" ]; then
  fail "gpu checks" "the GPU probe $gpu_probe" "it is missing (set GPU_PROBE)"
else
  if gpu_out=$(run_image --gpus all --entrypoint nvidia-smi "$image" -L 2>&1); then
    pass "gpu nvidia-smi $(printf '%s\n' "$gpu_out" | head -n 1)"
  else
    fail "gpu nvidia-smi" "a GPU listed" "$(printf '%s\n' "$gpu_out" | tail -n 1)"
  fi
  # every module that must import: the GPU probe runs the deep check of each it has one for
  # shellcheck disable=SC2086 # EXPECT_IMPORTS is a list of words
  gpu_out=$(run_image -i --gpus all --entrypoint python3 "$image" - ${EXPECT_IMPORTS:-} \
    --expect-env <"$gpu_probe" 2>&1)
  if printf '%s\n' "$gpu_out" | grep -q '^\(PASS\|FAIL\) gpu '; then
    printf '%s\n' "$gpu_out" | grep '^\(PASS\|FAIL\) gpu '
    passed=$((passed + $(printf '%s\n' "$gpu_out" | grep -c '^PASS gpu ')))
    failed=$((failed + $(printf '%s\n' "$gpu_out" | grep -c '^FAIL gpu ')))
  else
    fail "gpu checks" "a judgement from $gpu_probe" "$(printf '%s\n' "$gpu_out" | tail -n 1)"
  fi
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
