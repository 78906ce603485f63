#!/bin/sh
# Usage: apt-repo.sh NAME KEY_URL FINGERPRINTS URI SUITE COMPONENTS OUTDIR
#
# Adds a signed apt repository in two files, for an image stage to copy:
#   OUTDIR/keyrings/NAME.asc   the repository's signing key (apt reads armored keys)
#   OUTDIR/sources/NAME.sources a deb822 entry trusting that key for this repository only
# FINGERPRINTS lists the primary key fingerprints the key file must hold, exactly (space
# separated, no spaces inside a fingerprint). A key file with any other or any extra primary
# key stops the build, and so does an empty FINGERPRINTS: a key taken on TLS alone is refused.
# Keys come over https only (file:// lets the tests feed a local key).
set -eu

if [ "$#" -ne 7 ]; then
    echo "usage: apt-repo.sh NAME KEY_URL FINGERPRINTS URI SUITE COMPONENTS OUTDIR" >&2
    exit 2
fi
name=$1
key_url=$2
want=$3
uri=$4
suite=$5
components=$6
out=$7
if [ -z "$(printf '%s' "$want" | tr -d ' ')" ]; then
    echo "apt-repo.sh: $name: no signing key fingerprint given; pin the one the publisher documents" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
GNUPGHOME=$work/gnupg
export GNUPGHOME
mkdir -m 700 "$GNUPGHOME"

curl -fsSL --proto '=https,file' --tlsv1.2 -o "$work/key.asc" "$key_url"

sorted() { tr ' ' '\n' | sed '/^$/d' | tr '[:lower:]' '[:upper:]' | sort -u | tr '\n' ' '; }
found=$(gpg --batch --quiet --show-keys --with-colons "$work/key.asc" \
    | awk -F: '$1 == "pub" { p = 1; next } $1 == "fpr" && p { print $10; p = 0 }' | sorted)
if [ -z "$found" ]; then
    echo "apt-repo.sh: $key_url holds no OpenPGP public key" >&2
    exit 1
fi
expected=$(printf '%s' "$want" | sorted)
if [ "$found" != "$expected" ]; then
    echo "apt-repo.sh: $name signing key mismatch: expected $expected, got $found" >&2
    exit 1
fi
echo "apt-repo.sh: $name signing key verified: $found"

mkdir -p "$out/keyrings" "$out/sources"
cp "$work/key.asc" "$out/keyrings/$name.asc"
chmod 0644 "$out/keyrings/$name.asc"
cat >"$out/sources/$name.sources" <<EOF
Types: deb
URIs: $uri
Suites: $suite
Components: $components
Signed-By: /etc/apt/keyrings/$name.asc
EOF
