#!/usr/bin/env bash
# Runs every title evaluation (both brand splits, which include the two
# cross-catalogue runs) and writes their tables into EVALUATION.md, between the
# markers <!-- eval-titles:NAME --> and <!-- /eval-titles:NAME -->, so that the
# file always shows what the committed code measures.
#
# Usage: scripts/eval-titles.sh [--tables] [DATA_DIR] [OUT_DIR]
#   --tables  write the tables from the runs already in OUT_DIR, run nothing
#   DATA_DIR  the shared data (default ../shared/data)
#   OUT_DIR   where the runs write their cases, misses and false positives
#             (default eval-out; never committed)
# Environment: CARGO (default cargo), NICE (default "nice -n 10": the machine is
# often shared with other builds).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
run=1
if [ "${1:-}" = "--tables" ]; then
    run=0
    shift
fi
data="${1:-../shared/data}"
out="${2:-eval-out}"
cargo="${CARGO:-cargo}"
nice_cmd="${NICE:-nice -n 10}"
cd "$here"

if [ ! -d "$data/magellan-walmart-amazon" ]; then
    echo "data folder $data not found: nothing to evaluate" >&2
    exit 0
fi

if [ "$run" = 1 ]; then
    $nice_cmd "$cargo" build --release --example eval_titles >&2
    target="$("$cargo" metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    bin="$target/release/examples/eval_titles"
    mkdir -p "$out"
    # The two splits one after the other: each run times its titles per second,
    # and two at once on two cores would halve both.
    $nice_cmd "$bin" --data "$data" --out "$out/even" >"$out/even.md"
    $nice_cmd "$bin" --data "$data" --out "$out/odd" --split odd >"$out/odd.md"
fi

python3 - "$out/even.md" "$out/odd.md" EVALUATION.md <<'PY'
import re
import sys

even_path, odd_path, doc_path = sys.argv[1:4]


def sections(text):
    """The run's output: main rows, and the family, rule and curve tables by label."""
    rows = [l for l in text.splitlines()
            if l.startswith("| ") and l.count("|") == 14 and not l.startswith("| data set")]
    blocks = {}
    for m in re.finditer(r"\n\*\*(.+?)\*\*(.*?)\n\n((?:\|.*\n)+)", text):
        label, rest, table = m.group(1), m.group(2), m.group(3)
        if "index built" in rest:
            kind = "families"
        elif "switched off" in rest:
            kind = "rules"
        elif "findings at or above" in rest:
            kind = "curve"
        else:
            continue
        blocks[(kind, label)] = table.strip().splitlines()
    return rows, blocks


even_rows, even = sections(open(even_path, encoding="utf-8").read())
odd_rows, odd = sections(open(odd_path, encoding="utf-8").read())
HEADER = ("| data set | registered brands | unregistered | exact mentions | exact recall | "
          "mutated mentions | mutated recall | mutated recall, marks of 5+ characters | "
          "negative titles | false-positive rate | strict FP rate | FP rate, declared brand given | "
          "titles/s (1 thread) |\n" + "|---" * 13 + "|")


def main_table(rows):
    return HEADER + "\n" + "\n".join(rows)


within = lambda rows: [r for r in rows if "→" not in r]
across = lambda rows: [r for r in rows if "→" in r]

tables = {
    "default": main_table(within(even_rows)),
    "other-half": main_table(within(odd_rows)),
    "across": main_table(across(even_rows)),
}

# Recall per family: one column per run.
runs = [
    ("walmart-amazon", even, "walmart-amazon"),
    ("amazon-google", even, "amazon-google"),
    ("walmart-amazon, other half", odd, "walmart-amazon"),
    ("amazon-google, other half", odd, "amazon-google"),
    ("walmart-amazon → amazon-google", even, "walmart-amazon → amazon-google"),
    ("amazon-google → walmart-amazon", even, "amazon-google → walmart-amazon"),
]
recall = {}
order = []
for col, blocks, label in runs:
    for line in blocks.get(("families", label), [])[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] not in order:
            order.append(cells[0])
        recall[(cells[0], col)] = cells[2]
fam = "| family | " + " | ".join(c for c, _, _ in runs) + " |\n|---" + "|---" * len(runs) + "|\n"
fam += "\n".join(
    "| " + f + " | " + " | ".join(recall.get((f, c), "") for c, _, _ in runs) + " |" for f in order
)
tables["families"] = fam

# Each rule's gain and cost, both splits.
rules = ("| rule | data set, split | mutated recall without it | gain in mutated recall | "
         "false-positive rate without it | cost (false-positive points) |\n|---|---|---|---|---|---|\n")
lines = []
for name, blocks, split in [
    ("walmart-amazon", even, "default"),
    ("amazon-google", even, "default"),
    ("walmart-amazon", odd, "other half"),
    ("amazon-google", odd, "other half"),
]:
    for line in blocks.get(("rules", name), [])[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        lines.append(f"| {cells[0]} | {name}, {split} | " + " | ".join(cells[1:]) + " |")
tables["rules"] = rules + "\n".join(lines)

for name in ["walmart-amazon", "amazon-google"]:
    tables[f"curve-{name}"] = "\n".join(even.get(("curve", name), []))

doc = open(doc_path, encoding="utf-8").read()
missing = []
for name, table in tables.items():
    pattern = re.compile(
        r"(<!-- eval-titles:%s -->\n).*?(\n<!-- /eval-titles:%s -->)" % (re.escape(name), re.escape(name)),
        re.S,
    )
    if not pattern.search(doc):
        missing.append(name)
        continue
    doc = pattern.sub(lambda m: m.group(1) + "\n" + table + "\n" + m.group(2), doc)
open(doc_path, "w", encoding="utf-8").write(doc)
if missing:
    sys.exit("EVALUATION.md has no markers for: " + ", ".join(missing))
print("EVALUATION.md: title tables written from", even_path, "and", odd_path, file=sys.stderr)
PY
