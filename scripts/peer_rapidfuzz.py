#!/usr/bin/env python3
"""The peer matcher for the title-matching benchmark, and the scorer of both sides.

RapidFuzz (PyPI `rapidfuzz`) used the straightforward way: every word n-gram
(n = 1..3, words split on whitespace, lower-cased) of a title is compared with every
lower-cased mark name by `fuzz.ratio`, through `process.extract(..., limit=None,
score_cutoff=90)`; a title's findings are the marks any of its n-grams reaches.

The cases and marks are the ones `examples/eval_titles.rs` writes (cases.jsonl:
`{"id","title","expect","family","named"}`, marks.jsonl: one mark per line). The
metrics are the eval example's:

* exact recall: cases of family "exact" whose expected mark is found;
* mutated recall: the same over every other family with an expected mark, pooled and
  per family;
* false-positive rate: negative cases (no expected mark) with a found mark the title
  does not name as written (`named`);
* titles/s: cases scored per second of wall time of the matching loop alone.

With `--findings OUT.jsonl` the script runs no matcher: it reads `markhound match`
output (one `{"id","findings":[{"mark_id",...}]}` line per case, in case order) and
scores it with the same code, so both matchers are judged alike.

Usage:
  peer_rapidfuzz.py CASES.jsonl MARKS.jsonl [--every K | --budget SECONDS] [--json OUT]
  peer_rapidfuzz.py CASES.jsonl MARKS.jsonl --findings OUT.jsonl [--every K] [--json OUT]
"""

import argparse
import json
import math
import signal
import sys
import time

FAMILY_ORDER = [
    "addition", "bitsquatting", "hyphenation", "insertion", "omission", "plural",
    "repetition", "replacement", "transposition", "vowel-swap", "homoglyph",
    "cyrillic", "leet", "full-width", "separators", "zero-width", "diacritics", "case",
]

# Cases matched to estimate the peer's speed before choosing a sample (--budget).
CALIBRATION_CASES = 1500


def read_jsonl(path, what):
    """Reads JSON lines; a bad line stops the run with its file and line number."""
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: not a JSON {what}: {e}")
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"{path}: cannot read: {e}")
    return rows


def sample(cases, every):
    """One case in `every`, from the first: a fixed, deterministic sample."""
    return cases[::every]


def ngrams(title):
    words = title.lower().split()
    out = set()
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            out.add(" ".join(words[i:i + n]))
    return out


class Peer:
    """RapidFuzz over the lower-cased mark names."""

    def __init__(self, marks):
        from rapidfuzz import fuzz, process

        self.fuzz, self.process = fuzz, process
        self.ids = [m["id"] for m in marks]
        self.names = [m["name"].lower() for m in marks]

    def find(self, title):
        found = set()
        for g in ngrams(title):
            for _name, _score, i in self.process.extract(
                g, self.names, scorer=self.fuzz.ratio, score_cutoff=90, limit=None
            ):
                found.add(self.ids[i])
        return found

    def run(self, cases):
        """Findings per case, and the wall and CPU time of the matching loop alone."""
        t0, c0 = time.perf_counter(), time.process_time()
        found = [self.find(c["title"]) for c in cases]
        return found, time.perf_counter() - t0, time.process_time() - c0


def markhound_findings(path, cases, every):
    """The marks `markhound match` found for one case in `every`, checked against the
    case ids (the output has one line per case, in case order)."""
    rows = read_jsonl(path, "output line")
    if len(rows) != len(cases):
        sys.exit(f"{path}: {len(rows)} output lines for {len(cases)} cases")
    found = []
    for n, (row, case) in enumerate(zip(sample(rows, every), sample(cases, every))):
        line = n * every + 1
        if "error" in row:
            sys.exit(f"{path}:{line}: markhound reported an error: {row['error']}")
        if row.get("id") != case["id"]:
            sys.exit(f"{path}:{line}: output for id {row.get('id')!r}, expected {case['id']!r}")
        findings = row.get("findings")
        if not isinstance(findings, list) or not all(
            isinstance(f, dict) and isinstance(f.get("mark_id"), str) for f in findings
        ):
            sys.exit(f"{path}:{line}: \"findings\" is not a list of findings with a mark_id")
        found.append({f["mark_id"] for f in findings})
    return found


def metrics(cases, found):
    """Recall per family, pooled mutated recall and the false-positive rate."""
    fam = {}
    neg = neg_fp = 0
    for c, f in zip(cases, found):
        if c.get("expect") is not None:
            hit, total = fam.get(c["family"], (0, 0))
            fam[c["family"]] = (hit + (c["expect"] in f), total + 1)
        else:
            neg += 1
            named = set(c.get("named") or [])
            neg_fp += bool(f - named)
    mh = sum(h for k, (h, _) in fam.items() if k != "exact")
    mt = sum(t for k, (_, t) in fam.items() if k != "exact")
    eh, et = fam.get("exact", (0, 0))

    def rate(h, t):
        return h / t if t else None

    return {
        "cases": len(cases),
        "exact": {"hits": eh, "total": et, "recall": rate(eh, et)},
        "mutated": {"hits": mh, "total": mt, "recall": rate(mh, mt)},
        "negatives": {"false_positives": neg_fp, "total": neg, "rate": rate(neg_fp, neg)},
        "families": {
            k: {"hits": h, "total": t, "recall": rate(h, t)}
            for k, (h, t) in sorted(
                fam.items(),
                key=lambda kv: FAMILY_ORDER.index(kv[0]) if kv[0] in FAMILY_ORDER else -1,
            )
        },
    }


def fmt(x):
    return "n/a" if x is None else f"{x:.4f}"


def print_report(name, m):
    print(f"{name}: {m['cases']} cases", end="")
    if m.get("titles_per_s"):
        print(f", {m['titles_per_s']:.0f} titles/s ({m['titles_per_cpu_s']:.0f} per CPU second)", end="")
    print()
    print(f"  exact recall    {fmt(m['exact']['recall'])} ({m['exact']['hits']}/{m['exact']['total']})")
    print(f"  mutated recall  {fmt(m['mutated']['recall'])} ({m['mutated']['hits']}/{m['mutated']['total']})")
    n = m["negatives"]
    print(f"  false positives {fmt(n['rate'])} ({n['false_positives']}/{n['total']})")
    for k, v in m["families"].items():
        if k != "exact":
            print(f"    {k:<14}{fmt(v['recall'])} ({v['hits']}/{v['total']})")


def main():
    # A closed stdout (`| head`) ends the run quietly, like other command-line tools.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cases")
    ap.add_argument("marks")
    ap.add_argument("--every", type=int, default=None, help="score one case in K only (the 1st, K+1-th, ...)")
    ap.add_argument("--budget", type=float, default=None,
                    help="choose --every so the peer's run takes about this many seconds")
    ap.add_argument("--findings", help="score this `markhound match` output instead of running the peer")
    ap.add_argument("--json", help="also write the figures here as JSON")
    a = ap.parse_args()
    if a.every is not None and a.every < 1:
        ap.error("--every must be 1 or more")
    if a.every is not None and a.budget is not None:
        ap.error("--every and --budget exclude each other")
    if a.findings and a.budget is not None:
        ap.error("--budget only applies to the peer's run, not to --findings")
    if a.budget is not None and a.budget <= 0:
        ap.error("--budget must be positive")

    cases = read_jsonl(a.cases, "case")
    marks = read_jsonl(a.marks, "mark")
    for n, m in enumerate(marks, 1):
        if not isinstance(m.get("id"), str) or not isinstance(m.get("name"), str):
            sys.exit(f"{a.marks}:{n}: a mark needs string fields id and name")
    for n, c in enumerate(cases, 1):
        if not isinstance(c.get("id"), str) or not isinstance(c.get("title"), str):
            sys.exit(f"{a.cases}:{n}: a case needs string fields id and title")

    if not cases:
        sys.exit(f"{a.cases}: no cases")
    every = a.every or 1
    result = {"total_cases": len(cases), "marks": len(marks)}
    if a.findings:
        chosen = sample(cases, every)
        m = metrics(chosen, markhound_findings(a.findings, cases, every))
        name = "markhound"
    else:
        peer = Peer(marks)
        if a.budget is not None:
            stride = max(1, len(cases) // CALIBRATION_CASES)
            _, secs, _ = peer.run(cases[::stride][:CALIBRATION_CASES])
            per_case = max(secs, 1e-9) / min(CALIBRATION_CASES, len(cases[::stride]))
            every = max(1, math.ceil(per_case * len(cases) / a.budget))
            print(f"calibration: {1 / per_case:.0f} titles/s; the whole set would take "
                  f"{per_case * len(cases):.0f} s, so one case in {every} is matched",
                  file=sys.stderr)
        chosen = sample(cases, every)
        found, secs, cpu = peer.run(chosen)
        m = metrics(chosen, found)
        m["seconds"] = secs
        m["cpu_seconds"] = cpu
        m["titles_per_s"] = len(chosen) / secs if secs > 0 else None
        m["titles_per_cpu_s"] = len(chosen) / cpu if cpu > 0 else None
        name = "rapidfuzz"
    result.update(m)
    result["every"] = every
    result["matcher"] = name
    print_report(name + (f" (one case in {every})" if every > 1 else ""), result)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
