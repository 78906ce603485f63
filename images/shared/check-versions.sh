#!/bin/sh
# Run at the end of the shared `edge-node-base` stage: every pinned tool must be present, load
# its libraries and report exactly the version its build arg asked for. The expected values
# come from the build args of the same names (the stage declares them as ARGs).
set -eu

failures=0
expect() {
    what=$1
    want=$2
    got=$3
    if [ "$got" = "$want" ]; then
        echo "ok      $what $got"
    else
        echo "MISMATCH $what: expected '$want', found '$got'" >&2
        failures=$((failures + 1))
    fi
}

# npm and Python may write caches or logs under $HOME; none of it belongs in the layer.
HOME=$(mktemp -d)
export HOME

expect python "$PYTHON_VERSION" "$(python3 -c 'import platform; print(platform.python_version())')"
expect uv "$UV_VERSION" "$(uv --version | cut -d ' ' -f 2)"
expect ffmpeg "$FFMPEG_VERSION" "$(ffmpeg -hide_banner -version | sed -n '1s/^ffmpeg version \([^ ]*\).*/\1/p')"
expect ffprobe "$FFMPEG_VERSION" "$(ffprobe -hide_banner -version | sed -n '1s/^ffprobe version \([^ ]*\).*/\1/p')"
expect node "v$NODE_VERSION" "$(node --version)"
expect npm "$NPM_VERSION" "$(npm --version)"
expect docker "$DOCKER_VERSION" "$(docker --version | sed -n 's/^Docker version \([^,]*\),.*/\1/p')"
expect dockerd "$DOCKER_VERSION" "$(dockerd --version | sed -n 's/^Docker version \([^,]*\),.*/\1/p')"
expect containerd "$CONTAINERD_VERSION" "$(containerd --version | cut -d ' ' -f 3)"
# the CLI plugins: inside DinD `docker build` is buildx (BuildKit), `docker compose` works
expect "docker buildx" "v$BUILDX_VERSION" "$(docker buildx version | cut -d ' ' -f 2)"
expect "docker compose" "v$COMPOSE_VERSION" "$(docker compose version | sed -n 's/^Docker Compose version \(.*\)$/\1/p')"
# time zones
test -f /usr/share/zoneinfo/Europe/Berlin || {
    echo "MISSING tzdata (/usr/share/zoneinfo)" >&2
    failures=$((failures + 1))
}
expect ngrok "$NGROK_VERSION" "$(ngrok version | sed -n 's/^ngrok version \(.*\)$/\1/p')"
# The image's PID 1 (ENTRYPOINT): Docker CE's tini.
expect docker-init tini "$(/usr/bin/docker-init --version 2>/dev/null | cut -d ' ' -f 1)"
for module in torch torchvision torchaudio transformers tokenizers; do
    case "$module" in
        torch) want=$TORCH_VERSION ;;
        torchvision) want=$TORCHVISION_VERSION ;;
        torchaudio) want=$TORCHAUDIO_VERSION ;;
        transformers) want=$TRANSFORMERS_VERSION ;;
        tokenizers) want=$TOKENIZERS_VERSION ;;
    esac
    expect "$module" "$want" "$(python3 -c "import $module; print($module.__version__)")"
done
uv pip check || failures=$((failures + 1))

rm -rf "$HOME"
if [ "$failures" -ne 0 ]; then
    echo "check-versions.sh: $failures check(s) failed" >&2
    exit 1
fi
