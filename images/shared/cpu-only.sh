#!/bin/sh
# Run by the CPU images' Dockerfiles: GPU-only features never go into a CPU image.
# Arguments are FLAG=VALUE pairs of the GPU-only feature flags; "true" (or anything but
# "false") stops the build with the reason.
set -eu
for pair in "$@"; do
    flag=${pair%%=*}
    value=${pair#*=}
    case "$value" in
        false) ;;
        true) echo "$flag=true: GPU-only feature, not available in a CPU image" >&2; exit 1 ;;
        *) echo "$flag must be true or false, not '$value'" >&2; exit 1 ;;
    esac
done
