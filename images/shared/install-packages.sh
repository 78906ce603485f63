#!/bin/sh
# Usage: install-packages.sh LAYER GROUP_FILE STAGE
#
# Installs one layer of the image's Python packages (LAYER: cuda, torch or rest, in that order)
# into STAGE: a root laid out like the real one, holding only what this layer adds to the
# interpreter's prefix (STAGE/opt/uv-python/<build>/lib/python3.X/site-packages/..., bin/...).
# The image then copies STAGE over / as a layer of its own (images/shared/Dockerfile).
#
# * Locked target (PACKAGES_LOCK set): GROUP_FILE is this layer's part of the target's lock
#   (locks/<target>/<n>-<layer>.txt, written by `bakery lock`): exactly those distributions,
#   every file checked against its sha256 (--require-hashes), without dependency resolution
#   (--no-deps: the lock is complete, split by layer; `uv pip check` in the final stage proves
#   the whole set consistent). A layer with no package for this target installs nothing.
# * Either way wheels only (--only-binary :all:): no source distribution is ever built here.
# * Unlocked target (PACKAGES_LOCK empty): GROUP_FILE is a placeholder and only the top-level
#   pins are fixed (build args: the torch set, transformers, tokenizers and FEATURE_PACKAGES,
#   the pins of the target's features, with FEATURE_INDEX_URLS). Without a lock the build
#   cannot know which files are CUDA's, so the whole set, resolved here, goes into the last
#   layer; the others stay empty.
#
# uv's download cache is UV_CACHE_DIR, which the RUN line points at a BuildKit cache mount.
set -eu

die() {
    echo "install-packages.sh: $*" >&2
    exit 1
}

[ "$#" -eq 3 ] || die "usage: install-packages.sh LAYER GROUP_FILE STAGE"
layer=$1
group=$2
stage=$3
case "$layer" in
    cuda | torch | rest) ;;
    *) die "unknown layer '$layer' (cuda, torch or rest)" ;;
esac
prefix=$(python3 -c 'import sys; print(sys.prefix)')
prefix=$(readlink -f "$prefix")
target="$stage$prefix"
mkdir -p "$stage"

if [ -n "${PACKAGES_LOCK:-}" ]; then
    if ! grep -Eq '^[A-Za-z0-9]' "$group"; then
        echo "layer $layer: no package of this target is in it ($PACKAGES_LOCK)"
        exit 0
    fi
    UV_CACHE_DIR="${UV_CACHE_DIR:?set UV_CACHE_DIR to a cache mount}" uv pip install --system \
        --no-compile --prefix "$target" --no-deps --require-hashes --only-binary :all: \
        -r "$group"
else
    if [ "$layer" != rest ]; then
        echo "layer $layer: empty, this target has no lock (its packages are in the last layer)"
        exit 0
    fi
    # The features switched on for this target (matrix.toml [features]) arrive as two lists
    # of words: FEATURE_INDEX_URLS, the extra indexes they need (TensorRT's native libraries
    # are wheels only on NVIDIA's), consulted after the torch index; FEATURE_PACKAGES, their
    # `name==version` pins, added to the same resolution as the pins above (which are exact,
    # so a feature can never move one of them). A package that is only a source distribution
    # is never built here (--only-binary :all:): the install stops at it, as `bakery lock`
    # does. The lists are split on blanks, never globbed (set -f); a word of the wrong shape
    # stops the build.
    set -f
    set --
    if [ -n "${TORCH_INDEX_URL:-}" ]; then
        set -- --extra-index-url "$TORCH_INDEX_URL"
    fi
    for url in ${FEATURE_INDEX_URLS:-}; do
        case "$url" in
            https://?*) set -- "$@" --extra-index-url "$url" ;;
            *) die "FEATURE_INDEX_URLS: '$url' is not an https:// URL" ;;
        esac
    done
    set -- "$@" \
        "torch==${TORCH_VERSION:?TORCH_VERSION is required}" \
        "torchvision==${TORCHVISION_VERSION:?TORCHVISION_VERSION is required}" \
        "torchaudio==${TORCHAUDIO_VERSION:?TORCHAUDIO_VERSION is required}" \
        "transformers==${TRANSFORMERS_VERSION:?TRANSFORMERS_VERSION is required}" \
        "tokenizers==${TOKENIZERS_VERSION:?TOKENIZERS_VERSION is required}"
    for pin in ${FEATURE_PACKAGES:-}; do
        case "$pin" in
            [A-Za-z0-9]*==[0-9]*) set -- "$@" "$pin" ;;
            *) die "FEATURE_PACKAGES: '$pin' is not a name==version pin" ;;
        esac
    done
    UV_CACHE_DIR="${UV_CACHE_DIR:?set UV_CACHE_DIR to a cache mount}" uv pip install --system \
        --no-compile --only-binary :all: --prefix "$target" "$@"
fi
# uv's leftovers in the prefix it wrote to (its lock file, world-writable, and its temporary
# directory): not part of the image
rm -rf "$target/.lock" "$target/.temp"
