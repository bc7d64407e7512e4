#!/usr/bin/env bash
# Compares `markhound hash` with the reference PDQ hasher as most people run it:
# PyPI `pdqhash` (Meta's C++ PDQ) on images decoded by Pillow, one process.
#
# Usage: scripts/bench_pdq_peer.sh [IMAGE_FOLDER] (default: the PDQ reference
# images in ../shared/data/pdq-threatexchange/images). Every image is hashed
# REPEAT times (default 10) so that the run lasts long enough to time. Needs
# python3 with venv; installs pdqhash, Pillow and numpy into target/bench-venv.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
folder="${1:-$root/../shared/data/pdq-threatexchange/images}"
repeat="${REPEAT:-10}"
venv="${VENV:-$root/target/bench-venv}"
target="${CARGO_TARGET_DIR:-$root/target}"

if [ ! -d "$folder" ]; then
    echo "no image folder at $folder" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet pdqhash Pillow numpy

(cd "$root" && cargo build --release --quiet)
markhound="$target/release/markhound"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

find "$folder" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \
    -o -iname '*.webp' -o -iname '*.gif' -o -iname '*.bmp' \) | LC_ALL=C sort > "$work/once"
for _ in $(seq "$repeat"); do cat "$work/once"; done > "$work/list"
count="$(wc -l < "$work/list")"

cat > "$work/peer.py" <<'PY'
import sys
import numpy as np
import pdqhash
from PIL import Image

paths = [line.rstrip("\n") for line in open(sys.argv[1])]
out = []
for path in paths:
    image = np.asarray(Image.open(path).convert("RGB"))
    bits, quality = pdqhash.compute(image)
    out.append(f"{np.packbits(bits.astype(np.uint8)).tobytes().hex()},{quality},{path}")
sys.stdout.write("\n".join(out) + "\n")
PY

now() { date +%s.%N; }
rate() { awk -v n="$count" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", n / (b - a) }'; }

# Warm the page cache and both programs once.
xargs -d '\n' "$markhound" hash < "$work/once" > /dev/null
"$venv/bin/python" "$work/peer.py" "$work/once" > /dev/null

t0="$(now)"; xargs -d '\n' "$markhound" hash < "$work/list" > "$work/markhound.out"; t1="$(now)"
t2="$(now)"; RAYON_NUM_THREADS=1 xargs -d '\n' "$markhound" hash < "$work/list" > /dev/null; t3="$(now)"
t4="$(now)"; "$venv/bin/python" "$work/peer.py" "$work/list" > "$work/peer.out"; t5="$(now)"

mh="$(rate "$t0" "$t1")"; mh1="$(rate "$t2" "$t3")"; py="$(rate "$t4" "$t5")"
same="$(paste -d '\n' <(cut -d, -f1 "$work/markhound.out") <(cut -d, -f1 "$work/peer.out") \
    | paste - - | awk '$1 == $2' | wc -l)"

echo "images hashed:            $count ($(wc -l < "$work/once") files x $repeat)"
echo "cores:                    $(nproc)"
echo "markhound hash:           $mh photos/s"
echo "markhound hash, 1 thread: $mh1 photos/s"
echo "pdqhash + Pillow:         $py photos/s"
awk -v a="$mh" -v b="$py" -v c="$mh1" \
    'BEGIN { printf "ratio:                    %.2fx (1 thread: %.2fx)\n", a / b, c / b }'
echo "identical hashes:         $same of $count"
