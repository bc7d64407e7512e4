#!/usr/bin/env bash
# Rebuilds data/glyphs/dnstwist.tsv from PyPI dnstwist (Apache-2.0): the look-alike
# tables its homoglyph and cyrillic fuzzers use, as "glyph<TAB>letters<TAB>table"
# lines. Tables: `unicode` (glyphs_unicode: Latin-extended and IPA letters that
# imitate a Latin letter), `ascii` (glyphs_ascii: ASCII letters and digits read as
# another, e.g. "rn" for "m"), `cyrillic` (latin_to_cyrillic, inverted), and the
# keyboards `qwerty`, `qwertz`, `azerty` (a key and its neighbours). The version
# is pinned so the table only changes when this script does.
# Usage: scripts/make-glyphs.sh   (needs pip, unzip and python3)
set -euo pipefail
version=20250130
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
python3 -m pip download --quiet --no-deps "dnstwist==$version" -d . >/dev/null
unzip -q dnstwist-*.whl dnstwist.py
python3 - <<'PY' > "$root/data/glyphs/dnstwist.tsv"
import sys
sys.path.insert(0, ".")
try:
    from dnstwist import Fuzzer
except ImportError:  # optional dependencies of the module are not needed for the tables
    import types
    src = open("dnstwist.py", encoding="utf-8").read()
    start = src.index("class Fuzzer")
    end = src.index("\n\tdef __init__", start)
    ns = {}
    exec(src[start:end] + "\n\tpass\n", ns)
    Fuzzer = ns["Fuzzer"]
print("# glyph\tletters\ttable   (from PyPI dnstwist %s, Apache-2.0; scripts/make-glyphs.sh)" % "VERSION")
rows = set()
for letters, glyphs in Fuzzer.glyphs_unicode.items():
    for g in glyphs:
        rows.add((g, letters, "unicode"))
for letters, glyphs in Fuzzer.glyphs_ascii.items():
    for g in glyphs:
        rows.add((g, letters, "ascii"))
for latin, cyr in Fuzzer.latin_to_cyrillic.items():
    rows.add((cyr, latin, "cyrillic"))
for name in ("qwerty", "qwertz", "azerty"):
    for key, near in getattr(Fuzzer, name).items():
        rows.add((key, near, name))
for g, letters, table in sorted(rows, key=lambda r: (r[2], r[1], r[0])):
    print(f"{g}\t{letters}\t{table}")
PY
sed -i "1s/VERSION/$version/" "$root/data/glyphs/dnstwist.tsv"
unzip -p dnstwist-*.whl 'dnstwist-*.dist-info/LICENSE' > "$root/data/glyphs/LICENSE-dnstwist" 2>/dev/null \
  || unzip -p dnstwist-*.whl 'dnstwist-*.dist-info/METADATA' | sed -n '/^License/p' > "$root/data/glyphs/LICENSE-dnstwist"
