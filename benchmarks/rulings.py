"""Accuracy of precedent cards per field against benchmarks/data/rulings/gold.jsonl.

Two sets: the 17 demo-corpus rulings (dev: the extractor was written looking at them)
and the 30 rulings of benchmarks/data/rulings (held-out: written by a separate annotator
who never saw the extractor, in every layout courts use). A field is right when it equals
the gold exactly (lists compared as sets; a card is right on "parties" when both sides are).
Targets (issue #6): court, case number, date >= 95 %; outcome, lagrum >= 90 %; parties,
cited cases >= 85 %.
Usage: python benchmarks/rulings.py [--errors FIELD]"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
GOLD = ROOT / "benchmarks" / "data" / "rulings" / "gold.jsonl"
FIELDS = ["court", "court_level", "case_numbers", "decision_date", "referat", "parties", "subject", "outcome",
          "lagrum", "cited_cases", "lower_instances", "keywords"]
TARGETS = {"court": 0.95, "case_numbers": 0.95, "decision_date": 0.95, "outcome": 0.90, "lagrum": 0.90,
           "parties": 0.85, "cited_cases": 0.85}


def comparable(field: str, value):
    if value is None:
        return None
    if field == "case_numbers" or field == "cited_cases" or field == "keywords":
        return frozenset(value)
    if field == "lagrum":
        return frozenset((x["sfs"], x["chapter"], x["section"]) for x in value)
    if field == "lower_instances":
        return frozenset((x["court"], x["case_number"], x["date"]) for x in value)
    if field == "parties":
        return (value.get("appellant"), value.get("counterparty"))
    if field == "subject":
        return " ".join(value.split())
    return value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--errors", metavar="FIELD", help="print the wrong values of this field")
    args = ap.parse_args()
    from textmine.nlp import tag_document
    from textmine.parse import parse_file
    from textmine.rulings import extract_card

    gold = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    scores = {"dev": {f: [] for f in FIELDS}, "held-out": {f: [] for f in FIELDS}}
    for g in gold:
        split = "dev" if g["file"].startswith("corpus/") else "held-out"
        doc = parse_file(ROOT / g["file"])
        tag_document(doc)
        card = extract_card(doc)
        got = card.to_json() if card else {}
        for f in FIELDS:
            ok = comparable(f, got.get(f)) == comparable(f, g[f])
            scores[split][f].append(ok)
            if not ok and args.errors == f:
                print(f"{split:<8} {Path(g['file']).name}\n   want {g[f]}\n   got  {got.get(f)}")
    print(f"{'field':<16} {'dev (17)':>9} {'held-out (30)':>14} {'all (47)':>9}  target")
    for f in FIELDS:
        dev, held = scores["dev"][f], scores["held-out"][f]
        both = dev + held
        target = f">= {TARGETS[f]:.0%}" if f in TARGETS else ""
        print(f"{f:<16} {sum(dev) / len(dev):>9.0%} {sum(held) / len(held):>14.0%} {sum(both) / len(both):>9.0%}  {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
