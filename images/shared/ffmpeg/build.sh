#!/bin/sh
# The ffmpeg builder of the shared `ffmpeg` stage. Profiles live next to this script:
# PROFILE.build-deps (Ubuntu -dev packages), PROFILE.configure (configure switches) and
# PROFILE.codecs (the encoders and decoders the profile promises, checked after the build and
# in every image check), plus common.build-deps for every profile.
#
#   build.sh install-deps PROFILE
#       apt-get install the build dependencies of PROFILE (apt lists must be fresh).
#   build.sh build PROFILE SRC PREFIX RUNTIME_LIST
#       configure, build and install ffmpeg and ffprobe from the unpacked, already verified
#       release tree SRC (read-only; the build runs out of tree) into PREFIX/bin, linked
#       statically against ffmpeg's own libraries, then write to RUNTIME_LIST the Ubuntu
#       packages holding every shared library the two programs load, one per line: the
#       runtime image installs exactly those, and no -dev package reaches it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

die() {
    echo "ffmpeg/build.sh: $*" >&2
    exit 1
}

# Lines of a profile file without comments and blanks.
entries() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"
}

profile_file() {
    case "$1" in
        full | slim) ;;
        *) die "unknown FFMPEG_PROFILE '$1' (expected: full or slim)" ;;
    esac
    [ -f "$here/$1.$2" ] || die "missing profile file $here/$1.$2"
    echo "$here/$1.$2"
}

install_deps() {
    deps=$(entries "$here/common.build-deps"; entries "$(profile_file "$1" build-deps)")
    case "$(dpkg --print-architecture)" in
        amd64 | i386) deps="$deps nasm" ;;
    esac
    # shellcheck disable=SC2086 # one package per word
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $deps
}

# The package owning a shared library path. ldd prints /lib/... while Ubuntu 24.04 packages
# register /usr/lib/... (merged /usr), so try the path as printed, its /usr twin and its target.
owner() {
    for candidate in "$1" "/usr$1" "${1#/usr}" "$(readlink -f "$1")"; do
        found=$(dpkg-query -S "$candidate" 2>/dev/null | head -n 1) || continue
        [ -n "$found" ] || continue
        found=${found%%: *}      # "libx264-164:amd64: /usr/lib/..." -> "libx264-164:amd64"
        echo "${found%%:*}"      # drop the architecture qualifier
        return 0
    done
    return 1
}

build() {
    profile=$1
    src=$2
    prefix=$3
    runtime_list=$4
    flags=$(entries "$(profile_file "$profile" configure)")
    [ -x "$src/configure" ] || die "$src is not an ffmpeg source tree"

    work=$(mktemp -d)
    cd "$work"
    # Headless images: no X11 capture, whatever headers the builder happens to have.
    # shellcheck disable=SC2086 # one configure switch per word
    "$src/configure" \
        --prefix="$prefix" \
        --enable-gpl \
        --enable-static \
        --disable-shared \
        --disable-debug \
        --disable-doc \
        --disable-ffplay \
        --disable-libxcb \
        --disable-xlib \
        $flags
    make -j"$(nproc)"
    make install
    cd /
    rm -rf "$work"

    for program in ffmpeg ffprobe; do
        "$prefix/bin/$program" -hide_banner -version >/dev/null \
            || die "$prefix/bin/$program does not run"
    done
    # The codecs the profile promises (PROFILE.codecs), as the image checks will look for them.
    entries "$(profile_file "$profile" codecs)" | while read -r kind name; do
        "$prefix/bin/ffmpeg" -hide_banner "-${kind}s" 2>/dev/null \
            | awk -v n="$name" '$2 == n { hit = 1 } END { exit !hit }' \
            || die "the $profile profile promises $kind $name, which this build lacks"
    done

    libs=$(ldd "$prefix/bin/ffmpeg" "$prefix/bin/ffprobe" \
        | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
    : >"$runtime_list.tmp"
    for lib in $libs; do
        pkg=$(owner "$lib") || die "no installed package holds $lib"
        echo "$pkg" >>"$runtime_list.tmp"
    done
    sort -u "$runtime_list.tmp" >"$runtime_list"
    rm -f "$runtime_list.tmp"
    echo "ffmpeg runtime packages ($profile): $(tr '\n' ' ' <"$runtime_list")"
}

[ "$#" -ge 1 ] || die "usage: build.sh install-deps PROFILE | build PROFILE SRC PREFIX RUNTIME_LIST"
command=$1
shift
case "$command" in
    install-deps)
        [ "$#" -eq 1 ] || die "usage: build.sh install-deps PROFILE"
        install_deps "$1"
        ;;
    build)
        [ "$#" -eq 4 ] || die "usage: build.sh build PROFILE SRC PREFIX RUNTIME_LIST"
        build "$@"
        ;;
    *) die "unknown command '$command'" ;;
esac
