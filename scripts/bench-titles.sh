#!/usr/bin/env bash
# Title matching, markhound against its peer RapidFuzz, on the same cases.
#
# 1. builds markhound and the eval example in release mode;
# 2. runs the eval example, which writes eval-out/<set>/{marks,cases,listings}.jsonl
#    from the real product titles of ../shared/data;
# 3. installs rapidfuzz from PyPI into a virtualenv under the cargo target folder;
# 4. on the walmart-amazon set, times `markhound match` end to end (process start,
#    registry load, JSON in and out) over every listing, best of RUNS runs, on all
#    cores and on one thread, and scores its output;
# 5. runs the peer (scripts/peer_rapidfuzz.py) on the same cases: on a fixed sample
#    (every k-th case) when the whole set would take more than PEER_BUDGET seconds;
#    markhound is then scored on that same sample as well;
# 6. prints the comparison as Markdown.
#
# Both matchers are scored by the same code (peer_rapidfuzz.py).
# Usage: scripts/bench-titles.sh        (env: DATA, RUNS, PEER_BUDGET, CARGO_TARGET_DIR)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${DATA:-../shared/data}
runs=${RUNS:-3}
budget=${PEER_BUDGET:-180}
set_name=walmart-amazon
if [ ! -d "$data/magellan-$set_name" ]; then
    echo "data folder $data/magellan-$set_name not found: nothing to benchmark"
    exit 0
fi
target=${CARGO_TARGET_DIR:-$root/target}
out=eval-out
work="$out/bench"
mkdir -p "$work"

echo "== build (release)" >&2
cargo build --release --bin markhound --example eval_titles >&2
mh="$target/release/markhound"

echo "== eval example: writing $out/" >&2
"$target/release/examples/eval_titles" --data "$data" --out "$out" >"$work/eval.md"

venv="$target/bench-venv"
if ! "$venv/bin/python" -c "import rapidfuzz" 2>/dev/null; then
    echo "== virtualenv with rapidfuzz in $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "rapidfuzz>=3,<4"
fi
py="$venv/bin/python"

dir="$out/$set_name"
cases="$dir/cases.jsonl"
marks="$dir/marks.jsonl"
listings="$dir/listings.jsonl"

# Runs `markhound match` $runs times on $1 threads, output in $2; prints the wall
# and CPU (user + system) seconds of the run with the best wall time.
time_match() {
    local threads=$1 result=$2 best="" best_cpu="" wall cpu
    local TIMEFORMAT="%R %U %S"
    for _ in $(seq "$runs"); do
        read -r wall cpu < <({ time RAYON_NUM_THREADS=$threads "$mh" match \
            --registry "$marks" --jsonl "$listings" >"$result" 2>"$work/match.err"; } 2>&1 \
            | awk '{ printf "%s %.3f\n", $1, $2 + $3 }')
        echo "   $threads thread(s): $wall s wall, $cpu s CPU" >&2
        if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$wall
            best_cpu=$cpu
        fi
    done
    echo "$best $best_cpu"
}

echo "== markhound match on $(wc -l <"$listings") listings, $(wc -l <"$marks") marks, best of $runs" >&2
cores=$(nproc)
read -r wall_all cpu_all < <(time_match "$cores" "$work/markhound.jsonl")
read -r wall_one cpu_one < <(time_match 1 "$work/markhound-1.jsonl")
if [ -s "$work/match.err" ] || [ -z "$wall_one" ]; then
    echo "markhound match failed:" >&2
    cat "$work/match.err" >&2
    exit 1
fi
cmp -s "$work/markhound.jsonl" "$work/markhound-1.jsonl" \
    || { echo "markhound's output differs between $cores threads and 1" >&2; exit 1; }

echo "== RapidFuzz peer (budget ${budget} s)" >&2
"$py" scripts/peer_rapidfuzz.py "$cases" "$marks" --budget "$budget" --json "$work/peer.json" >"$work/peer.txt"
every=$("$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))["every"])' "$work/peer.json")
"$py" scripts/peer_rapidfuzz.py "$cases" "$marks" --findings "$work/markhound.jsonl" \
    --every "$every" --json "$work/markhound-sample.json" >/dev/null
"$py" scripts/peer_rapidfuzz.py "$cases" "$marks" --findings "$work/markhound.jsonl" \
    --json "$work/markhound-all.json" >/dev/null

"$py" - "$work" "$cores" "$set_name" "$wall_all" "$cpu_all" "$wall_one" "$cpu_one" <<'PY'
import json, os, sys
work, cores, set_name = sys.argv[1:4]
wall_all, cpu_all, wall_one, cpu_one = map(float, sys.argv[4:8])
peer = json.load(open(os.path.join(work, "peer.json")))
mh = json.load(open(os.path.join(work, "markhound-sample.json")))
full = json.load(open(os.path.join(work, "markhound-all.json")))
import rapidfuzz
total = full["cases"]
every = peer["every"]

def f(x):
    return "n/a" if x is None else f"{x:.4f}"

model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"### markhound vs RapidFuzz ({set_name})\n")
print(f"{peer['marks']} registered marks, {total} cases; machine: {cores} cores ({model}), "
      f"load average {os.getloadavg()[0]:.2f} at the end; rapidfuzz {rapidfuzz.__version__}.")
if every > 1:
    print(f"The peer matched a fixed sample, one case in {every} ({peer['cases']} cases), "
          f"as the whole set would exceed the time budget; recall and false positives of "
          f"both matchers are computed on that same sample.")
print()
print("| matcher | titles/s (wall) | × peer | titles per CPU second | × peer | exact recall | mutated recall | false-positive rate |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
pw, pc = peer["titles_per_s"], peer["titles_per_cpu_s"]
def row(name, w, c, m):
    print(f"| {name} | {w:,.0f} | {w / pw:,.0f}× | {c:,.0f} | {c / pc:,.0f}× | "
          f"{f(m['exact']['recall'])} | {f(m['mutated']['recall'])} | {f(m['negatives']['rate'])} |")
row(f"markhound match, {cores} threads, end to end", total / wall_all, total / cpu_all, mh)
row("markhound match, 1 thread, end to end", total / wall_one, total / cpu_one, mh)
row("RapidFuzz fuzz.ratio ≥ 90 on word 1-3-grams, 1 thread", pw, pc, peer)
print()
print(f"markhound: all {total} listings through `markhound match` (process start, registry "
      f"load, JSON in and out), the run with the best wall time: {wall_all:.2f} s wall / "
      f"{cpu_all:.2f} s CPU on {cores} threads, {wall_one:.2f} s / {cpu_one:.2f} s on 1. "
      f"RapidFuzz: its matching loop alone, {peer['seconds']:.1f} s wall / "
      f"{peer['cpu_seconds']:.1f} s CPU.")
if every > 1:
    print(f"On all {total} cases markhound scores exact {f(full['exact']['recall'])}, "
          f"mutated {f(full['mutated']['recall'])}, false positives {f(full['negatives']['rate'])}.")
print()
print("| family | cases | markhound recall | RapidFuzz recall |")
print("|---|---:|---:|---:|")
for fam, v in mh["families"].items():
    p = peer["families"].get(fam, {})
    print(f"| {fam} | {v['total']} | {f(v['recall'])} | {f(p.get('recall'))} |")
PY
