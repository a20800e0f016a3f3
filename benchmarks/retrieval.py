"""Retrieval quality: keyword, semantic and hybrid side by side on labelled Swedish
queries (benchmarks/data/queries.jsonl, written for the project: paraphrased questions
with graded relevant pages in the demo corpus and ../shared/real-corpus).

A hit is relevant when its document and page match a labelled (file, page) and, where
the label names a section, the passage lies under that heading. Metrics over the top
10: nDCG@10 (graded, 2 = answers, 1 = related), Recall@10 (share of labelled pages
found) and MRR (rank of the first relevant hit).

The store is built once under indexes/bench (ingest is idempotent; later runs reuse it).
Usage: python benchmarks/retrieval.py [--home DIR] [--k 10] [--per-query]"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from textmine.indexing import update_indexes  # noqa: E402
from textmine.ingest import ingest  # noqa: E402
from textmine.search import Filters, Searcher  # noqa: E402
from textmine.store import Store  # noqa: E402

QUERIES = ROOT / "benchmarks" / "data" / "queries.jsonl"
REAL = (ROOT / ".." / "shared" / "real-corpus").resolve()


def grade_of(hit, labels) -> int:
    name = Path(hit.path).name
    best = 0
    for lab in labels:
        if lab["file"] != name:
            continue
        if not hit.page <= lab["page"] <= hit.page_end:
            continue
        section = lab.get("section")
        if section and not any(h == section or h.startswith(section + " ") for h in hit.heading_path):
            continue
        best = max(best, lab.get("grade", 1))
    return best


def ndcg(grades: list[int], labels: list[dict], k: int) -> float:
    dcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(grades[:k]))
    ideal = sorted((lab.get("grade", 1) for lab in labels), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(hits, labels, k: int) -> float:
    found = set()
    for h in hits[:k]:
        for n, lab in enumerate(labels):
            if grade_of(h, [lab]):
                found.add(n)
    return len(found) / len(labels) if labels else 0.0


def mrr(grades: list[int]) -> float:
    for i, g in enumerate(grades):
        if g:
            return 1.0 / (i + 1)
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--home", default=str(ROOT / "indexes" / "bench"))
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--per-query", action="store_true")
    args = ap.parse_args()
    queries = [json.loads(l) for l in QUERIES.read_text(encoding="utf-8").splitlines() if l.strip()]
    real_ok = REAL.exists()
    if not real_ok:
        print(f"(real corpus not found at {REAL}: its labels are dropped)", file=sys.stderr)
        for q in queries:
            q["relevant"] = [r for r in q["relevant"] if r.get("source", "demo") != "real"]
        queries = [q for q in queries if q["relevant"]]
    store = Store(args.home)
    paths = [ROOT / "corpus" / "documents"] + ([REAL] if real_ok else [])
    t = time.perf_counter()
    summary = ingest(store, paths, quiet=True)
    update_indexes(store, quiet=True)
    print(f"store: {store.stats()['documents']} documents, {store.stats()['passages']} passages "
          f"({summary.to_json()['ingested']} ingested now, {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    searcher = Searcher(store)
    results = {}
    for mode in ("keyword", "semantic", "hybrid"):
        rows, lat = [], []
        for q in queries:
            s = time.perf_counter()
            res = searcher.search(q["query"], k=args.k, mode=mode, filters=Filters())
            lat.append(time.perf_counter() - s)
            grades = [grade_of(h, q["relevant"]) for h in res.hits]
            rows.append((ndcg(grades, q["relevant"], args.k), recall(res.hits, q["relevant"], args.k), mrr(grades)))
            if args.per_query:
                print(f"{mode:<8} {q['id']} nDCG {rows[-1][0]:.2f} R {rows[-1][1]:.2f} MRR {rows[-1][2]:.2f}  {q['query'][:70]}")
        n = len(rows)
        lat.sort()
        results[mode] = {
            "ndcg": sum(r[0] for r in rows) / n, "recall": sum(r[1] for r in rows) / n, "mrr": sum(r[2] for r in rows) / n,
            "p50_ms": lat[n // 2] * 1000, "p95_ms": lat[int(0.95 * (n - 1))] * 1000,
        }
    print(f"# Retrieval — {platform.node()} ({os.cpu_count()} cores), {date.today()}: {len(queries)} queries, top {args.k}\n")
    print("| mode | nDCG@10 | Recall@10 | MRR | p50 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for mode, r in results.items():
        print(f"| {mode} | {r['ndcg']:.3f} | {r['recall']:.3f} | {r['mrr']:.3f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} |")
    best_single = max(results["keyword"]["ndcg"], results["semantic"]["ndcg"])
    verdict = "beats" if results["hybrid"]["ndcg"] > best_single else "does NOT beat"
    print(f"\nhybrid {verdict} the best single mode on nDCG@10 ({results['hybrid']['ndcg']:.3f} vs {best_single:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
