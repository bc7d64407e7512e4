#!/usr/bin/env bash
# Fetches the npm package `simple-icons` (CC0-1.0: 3,400+ brand logos as SVG, with
# their brand colours) for the logo evaluation (`examples/eval_logos.rs`) and the
# logo benchmark (`benches/logos.rs`). The package is unpacked under target/, which
# git ignores: it is never committed.
#
#   scripts/fetch-simple-icons.sh [DEST]     (default: target/simple-icons)
set -euo pipefail
version=16.37.0
dest="${1:-target/simple-icons}"
if [ -f "$dest/package/data/simple-icons.json" ]; then
    echo "simple-icons already in $dest"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "simple-icons@$version" --silent >/dev/null)
mkdir -p "$dest"
tar xzf "$tmp/simple-icons-$version.tgz" -C "$dest" \
    package/icons package/data/simple-icons.json package/LICENSE.md package/package.json
echo "simple-icons $version in $dest ($(ls "$dest/package/icons" | wc -l) icons)"
