"""Entity tagging quality and speed.

Quality: precision, recall and F1 per label against benchmarks/data/ner_gold.jsonl (whole
pages annotated exhaustively, from the demo corpus and ../shared/real-corpus, plus
sentences written for the project). A predicted entity counts when label, text and norm
all match a gold mention on the same page or sentence (multiset match).
Speed: words/s and tokens/s of the whole pipeline over the demo corpus and the real report.

Usage: python benchmarks/ner.py [--errors] [--json]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from textmine.nlp import load, tag_document, tag_text  # noqa: E402
from textmine.parse import parse_file  # noqa: E402

SETS = {
    # written first; the patterns were developed against it (a development set)
    "dev": ROOT / "benchmarks" / "data" / "ner_gold.jsonl",
    # written later by another annotator who saw neither the dev set nor the tagger's code
    "heldout": ROOT / "benchmarks" / "data" / "ner_heldout.jsonl",
}
REAL = (ROOT / ".." / "shared" / "real-corpus").resolve()
DEMO = ROOT / "corpus" / "documents"
TARGETS = {"KOMMUN": 0.95, "LAN": 0.95, "COURT": 0.95, "LAW": 0.95, "PROVISION": 0.95, "CASE_REF": 0.95, "DATE": 0.95}


def load_gold(path: Path) -> tuple[list[dict], int]:
    rows, skipped = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("source") == "real" and not (REAL / row["file"]).exists():
            skipped += 1
            continue
        rows.append(row)
    return rows, skipped


def predict(rows: list[dict]) -> list[list[tuple]]:
    """Predicted (label, text, norm) per gold row, in the same order."""
    docs: dict[str, object] = {}
    out = []
    for row in rows:
        if "text" in row:
            out.append([(e.label, e.text, e.norm) for e in tag_text(row["text"])])
            continue
        path = (REAL if row["source"] == "real" else DEMO) / row["file"]
        if str(path) not in docs:
            doc = parse_file(path)
            tag_document(doc)
            docs[str(path)] = doc
        doc = docs[str(path)]
        out.append([(e.label, e.text, e.norm) for e in doc.entities if e.page == row["page"]])
    return out


def score(rows, predictions):
    tp, fp, fn = Counter(), Counter(), Counter()
    errors = defaultdict(list)
    for row, pred in zip(rows, predictions):
        gold = Counter((e["label"], e["text"], e["norm"]) for e in row["entities"])
        got = Counter(pred)
        where = row.get("file", "sentence") + (f" p{row['page']}" if "page" in row else f": {row.get('text', '')[:60]}")
        for key in gold | got:
            match = min(gold[key], got[key])
            tp[key[0]] += match
            if got[key] > match:
                fp[key[0]] += got[key] - match
                errors[key[0]].append(("FP", key[1], key[2], where))
            if gold[key] > match:
                fn[key[0]] += gold[key] - match
                errors[key[0]].append(("FN", key[1], key[2], where))
    return tp, fp, fn, errors


def prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def speed() -> dict:
    nlp = load()
    truth = json.loads((ROOT / "corpus" / "truth.json").read_text(encoding="utf-8"))
    files = [ROOT / "corpus" / t["file"] for t in truth if t["format"] == "pdf"]
    report = REAL / "statskontoret-2020-19-aktiv-medverkan.pdf"
    if report.exists():
        files.append(report)
    docs = [parse_file(f, ocr="never") for f in files]
    texts = [b.text for d in docs for _, b in d.blocks(("heading", "paragraph", "list_item", "quote", "table", "footnote"))]
    words = sum(len(t.split()) for t in texts)
    tokens = sum(len(d) for d in nlp.tokenizer.pipe(texts))
    start = time.perf_counter()
    for d in docs:
        tag_document(d)
    seconds = time.perf_counter() - start
    return {"documents": len(docs), "words": words, "tokens": tokens, "seconds": seconds,
            "words_per_s": words / seconds, "tokens_per_s": tokens / seconds}


def report(name: str, rows: list[dict], skipped: int, show_errors: bool) -> dict:
    predictions = predict(rows)
    tp, fp, fn, errors = score(rows, predictions)
    labels = sorted(set(tp) | set(fp) | set(fn))
    n_mentions = sum(len(r["entities"]) for r in rows)
    print(f"## {name}: {len(rows)} units, {n_mentions} mentions" + (f" ({skipped} real-corpus pages skipped: not found)" if skipped else "") + "\n")
    print("| label        |  gold | precision | recall |    F1 | target |")
    print("|--------------|-------|-----------|--------|-------|--------|")
    result = {}
    all_tp = all_fp = all_fn = 0
    for label in labels:
        p, r, f = prf(tp[label], fp[label], fn[label])
        target = TARGETS.get(label, 0.85)
        ok = "ok" if f >= target else "MISS"
        print(f"| {label:<12} | {tp[label] + fn[label]:>5} | {p:>9.3f} | {r:>6.3f} | {f:>5.3f} | {target:.2f} {ok:<4}|")
        result[label] = {"precision": p, "recall": r, "f1": f, "gold": tp[label] + fn[label]}
        all_tp, all_fp, all_fn = all_tp + tp[label], all_fp + fp[label], all_fn + fn[label]
    p, r, f = prf(all_tp, all_fp, all_fn)
    print(f"| {'all (micro)':<12} | {all_tp + all_fn:>5} | {p:>9.3f} | {r:>6.3f} | {f:>5.3f} |        |\n")
    if show_errors:
        for label in labels:
            for e in errors[label]:
                print(f"{label:<12} {e[0]} {e[1]!r:<45} {e[2]!r:<40} {e[3]}")
        print()
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", choices=["dev", "heldout", "both"], default="both")
    ap.add_argument("--errors", action="store_true", help="list false positives and negatives per label")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    print(f"# Entity tagging — {platform.node()} ({os.cpu_count()} cores), {date.today()}\n")
    results = {}
    for name in (["dev", "heldout"] if args.set == "both" else [args.set]):
        if not SETS[name].exists():
            print(f"({name} set {SETS[name]} not found)")
            continue
        rows, skipped = load_gold(SETS[name])
        results[name] = report(name, rows, skipped, args.errors)
    if not args.no_speed:
        s = speed()
        results["speed"] = s
        print(f"speed: {s['documents']} documents, {s['tokens']} tokens ({s['words']} words) tagged in {s['seconds']:.2f} s = "
              f"{s['tokens_per_s']:,.0f} tokens/s, {s['words_per_s']:,.0f} words/s (one core)")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
