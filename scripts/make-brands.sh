#!/usr/bin/env bash
# Rebuilds data/brands/simple-icons.txt.gz from the npm package simple-icons (CC0-1.0):
# every brand title and its aliases (also-known-as, duplicates, former names and
# localised names), one a line, sorted, duplicates removed. The version is pinned so
# the list only changes when this script does.
# Usage: scripts/make-brands.sh   (needs npm, tar, python3 and gzip)
set -euo pipefail
version=16.37.0
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "simple-icons@$version" >/dev/null
tar xzf "simple-icons-$version.tgz"
python3 - package/data/simple-icons.json <<'PY' | gzip -9n > "$root/data/brands/simple-icons.txt.gz"
import json, sys
names = set()
for icon in json.load(open(sys.argv[1], encoding="utf-8")):
    names.add(icon["title"])
    aliases = icon.get("aliases", {})
    names.update(aliases.get("aka", []))
    names.update(aliases.get("old", []))
    names.update(d["title"] for d in aliases.get("dup", []))
    names.update(aliases.get("loc", {}).values())
names = sorted(n.strip() for n in names if n.strip() and "\n" not in n)
sys.stdout.write("\n".join(names) + "\n")
PY
cp package/LICENSE.md "$root/data/brands/LICENSE-simple-icons.md"
