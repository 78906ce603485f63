#!/bin/sh
# Usage: apt-pin.sh PACKAGE VERSION
#
# Prints PACKAGE=FULL_VERSION for the newest version apt knows whose upstream part is VERSION,
# so the version pinned in matrix.toml (28.5.2) selects the repository's full version string
# (5:28.5.2-1~ubuntu.24.04~noble) without the Dockerfile spelling out epoch, revision or
# distribution. Fails, listing what apt offers, when no version matches: a pin that does not
# exist must stop the build, never fall back to "latest".
set -eu

if [ "$#" -ne 2 ]; then
    echo "usage: apt-pin.sh PACKAGE VERSION" >&2
    exit 2
fi
pkg=$1
want=$2
if [ -z "$want" ]; then
    echo "apt-pin.sh: no version given for $pkg (is its build arg set?)" >&2
    exit 2
fi

versions=$(apt-cache madison "$pkg" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }')
for full in $versions; do
    upstream=${full#*:}          # drop the epoch
    upstream=${upstream%-*}      # drop the Debian revision
    case "$upstream" in
        "$want" | "$want"+*)
            echo "$pkg=$full"
            exit 0
            ;;
    esac
done

echo "apt-pin.sh: $pkg $want is not in the configured repositories;" \
    "available: $(printf '%s\n' "$versions" | tr '\n' ' ')" >&2
exit 1
