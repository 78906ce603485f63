#!/bin/sh
# Usage: install-feature.sh FLAG VALUE REQUIREMENT [UV_PIP_INSTALL_ARGS...]
#
# Installs one feature-flag package into the image's system Python when VALUE is
# "true", installs nothing when it is "false", and stops the build on anything else. The
# packages already installed are frozen as constraints first, so a feature can add packages
# but never move torch or any other pin; `uv pip check` then proves the result consistent.
set -eu

die() {
    echo "install-feature.sh: $*" >&2
    exit 1
}

[ "$#" -ge 3 ] || die "usage: install-feature.sh FLAG VALUE REQUIREMENT [UV_PIP_INSTALL_ARGS...]"
flag=$1
value=$2
requirement=$3
shift 3

case "$value" in
    false)
        echo "$flag=false: $requirement not installed"
        exit 0
        ;;
    true) ;;
    *) die "$flag must be true or false, not '$value'" ;;
esac
case "$requirement" in
    *==) die "$flag=true but its version build arg is empty ($requirement)" ;;
esac

constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
uv pip freeze >"$constraints"
uv pip install --system --no-cache --no-compile --constraints "$constraints" "$@" "$requirement"
uv pip check
