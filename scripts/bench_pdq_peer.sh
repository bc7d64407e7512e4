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
load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

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

# Runs a command and prints "wall_seconds cpu_seconds" (user + system).
timed() {
    local TIMEFORMAT='%R %U %S'
    { time "$@" > "$work/last.out"; } 2> "$work/last.time"
    awk '{ printf "%s %.3f", $1, $2 + $3 }' "$work/last.time"
}
rate() { awk -v n="$count" -v s="$1" 'BEGIN { printf "%.1f", n / s }'; }

# Warm the page cache and both programs once.
xargs -d '\n' "$markhound" hash < "$work/once" > /dev/null
"$venv/bin/python" "$work/peer.py" "$work/once" > /dev/null

read -r mh_wall mh_cpu <<< "$(timed xargs -d '\n' "$markhound" hash < "$work/list")"
cp "$work/last.out" "$work/markhound.out"
read -r one_wall one_cpu <<< "$(RAYON_NUM_THREADS=1 timed xargs -d '\n' "$markhound" hash < "$work/list")"
read -r py_wall py_cpu <<< "$(timed "$venv/bin/python" "$work/peer.py" "$work/list")"
cp "$work/last.out" "$work/peer.out"

same="$(paste -d , <(cut -d, -f1 "$work/markhound.out") <(cut -d, -f1 "$work/peer.out") \
    | awk -F, '$1 == $2' | wc -l)"

echo "images hashed: $count ($(wc -l < "$work/once") files x $repeat), cores: $(nproc)," \
    "load average before: $load"
printf '%-28s %12s %16s\n' "" "photos/s" "photos/CPU-s"
printf '%-28s %12s %16s\n' "markhound hash" "$(rate "$mh_wall")" "$(rate "$mh_cpu")"
printf '%-28s %12s %16s\n' "markhound hash, 1 thread" "$(rate "$one_wall")" "$(rate "$one_cpu")"
printf '%-28s %12s %16s\n' "pdqhash + Pillow" "$(rate "$py_wall")" "$(rate "$py_cpu")"
awk -v a="$py_wall" -v b="$mh_wall" -v c="$one_wall" -v d="$py_cpu" -v e="$mh_cpu" \
    'BEGIN { printf "speed-up: %.2fx (1 thread: %.2fx, per CPU-second: %.2fx)\n", a / b, a / c, d / e }'
echo "identical hashes: $same of $count"
