#!/usr/bin/env bash
# Rebuilds data/words/english.txt.gz from Debian's wamerican-huge (SCOWL) word list:
# ASCII-folded, words of three letters or more, possessives dropped. A word the list
# has in lower case is written in lower case (a common word); a word it has only
# capitalised is written capitalised (a proper noun: a name, a place, a brand).
# Usage: scripts/make-wordlist.sh   (needs apt-get download, dpkg-deb and python3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download wamerican-huge >/dev/null
dpkg-deb -x wamerican-huge_*.deb x
python3 - x/usr/share/dict/american-english-huge <<'PY' | gzip -9n > "$root/data/words/english.txt.gz"
import sys, unicodedata
common, names = set(), set()
for line in open(sys.argv[1], encoding="utf-8"):
    w = line.strip()
    if "'" in w:
        continue
    w = unicodedata.normalize("NFKD", w)
    w = "".join(c for c in w if not unicodedata.combining(c))
    if len(w) < 3 or not w.isascii() or not w.isalpha():
        continue
    (common if w.islower() else names).add(w.lower())
out = sorted(common) + sorted(n.capitalize() for n in names - common)
sys.stdout.write("\n".join(out) + "\n")
PY
cp x/usr/share/doc/wamerican-huge/copyright "$root/data/words/COPYRIGHT-SCOWL"
