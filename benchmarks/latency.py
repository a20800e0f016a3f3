"""Query latency at scale: 10k, 100k and 1M passages (synthetic vectors and text).

For each size: FAISS exact (IndexFlatIP) and HNSW search latency p50/p95, index build
time and memory; SQLite FTS5 BM25 keyword query latency over synthetic Swedish-like
passages; the query embedding time of the real model; and the sum for a hybrid query
(embed + vector search + keyword search + fusion), which is what a user waits for.
Usage: python benchmarks/latency.py [--sizes 10000,100000,1000000] [--queries 200]"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DIM = 384


def pct(values, p):
    return float(np.percentile(np.array(values) * 1000, p))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


REAL_VECTORS = None


def real_vectors() -> np.ndarray | None:
    """The e5 vectors of the demo corpus passages, if a benchmark store exists."""
    global REAL_VECTORS
    if REAL_VECTORS is None:
        db_path = ROOT / "indexes" / "bench" / "textmine.sqlite"
        if db_path.exists():
            db = sqlite3.connect(db_path)
            blobs = [r[0] for r in db.execute("SELECT vector FROM embeddings")]
            db.close()
            if blobs:
                REAL_VECTORS = np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
    return REAL_VECTORS


def synthetic_vectors(n: int, rng) -> np.ndarray:
    """Vectors shaped like real passage embeddings: real e5 vectors of the demo corpus
    (when `benchmarks/retrieval.py` has built indexes/bench) moved by noise to cosine
    ~0.9 of their source; else clustered Gaussian noise (much harder for ANN indexes)."""
    base = real_vectors()
    if base is not None:
        x = base[rng.integers(0, len(base), n)] + 0.018 * rng.standard_normal((n, DIM)).astype(np.float32)
    else:
        centers = rng.standard_normal((256, DIM)).astype(np.float32)
        x = centers[rng.integers(0, 256, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def bench_faiss(n: int, queries: int, rng) -> dict:
    import faiss

    from textmine.index.vectors import _new_index

    x = synthetic_vectors(n, rng)
    q = synthetic_vectors(queries, rng)
    out = {}
    for kind in ("flat", "hnsw"):
        if kind == "flat" and n > 1_000_000:
            continue
        before = rss_mb()
        t = time.perf_counter()
        index = _new_index(DIM, kind)
        index.add_with_ids(x, np.arange(n, dtype=np.int64))
        build = time.perf_counter() - t
        lat = []
        for v in q:
            t = time.perf_counter()
            index.search(v.reshape(1, -1), 200)
            lat.append(time.perf_counter() - t)
        # recall of HNSW against exact search
        recall = None
        if kind == "hnsw":
            exact = faiss.IndexFlatIP(DIM)
            exact.add(x)
            _, gt = exact.search(q[:50], 10)
            _, got = index.search(q[:50], 10)
            recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(gt, got)]))
        out[kind] = {"build_s": build, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "rss_growth_mb": rss_mb() - before, "recall@10": recall}
        del index
    return out


VOCAB = None


def synthetic_texts(n: int, rng, words_per: int = 60):
    global VOCAB
    if VOCAB is None:
        # the words of the demo corpus, most frequent first, so that the Zipf draw looks like Swedish text
        from collections import Counter

        from textmine.index import lexical

        counts = Counter()
        for f in (ROOT / "corpus" / "sources").glob("*.md"):
            counts.update(lexical.stem(w) for w in lexical.words(f.read_text(encoding="utf-8")))
        VOCAB = np.array([w for w, _ in counts.most_common()])
    ranks = rng.zipf(1.2, size=(n, words_per)) % len(VOCAB)
    return VOCAB, ranks


def bench_fts(n: int, queries: int, rng) -> dict:
    from textmine.index import lexical

    vocab, ranks = synthetic_texts(n, rng)
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(os.path.join(tmp, "fts.sqlite"))
        db.execute("CREATE VIRTUAL TABLE f USING fts5(terms, tokenize='unicode61 remove_diacritics 0')")
        db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, 'row')")
        t = time.perf_counter()
        batch = []
        for i in range(n):
            batch.append((i + 1, " ".join(vocab[ranks[i]])))
            if len(batch) == 20_000:
                db.executemany("INSERT INTO f (rowid, terms) VALUES (?, ?)", batch)
                batch = []
        if batch:
            db.executemany("INSERT INTO f (rowid, terms) VALUES (?, ?)", batch)
        db.commit()
        build = time.perf_counter() - t
        lat = []
        real_queries = benchmark_queries()
        for i in range(queries):
            # the benchmark's own Swedish queries, analysed as search does (stop words out)
            t = time.perf_counter()
            terms = lexical.query_terms(real_queries[i % len(real_queries)])
            if n >= lexical.PRUNE_FROM:  # as Searcher.keyword does
                dfs = {x: (db.execute("SELECT doc FROM v WHERE term = ?", (x,)).fetchone() or (0,))[0] for x in terms}
                terms = lexical.prune_common_terms(terms, dfs, n)
            match = lexical.fts_query(terms)
            db.execute("SELECT rowid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 200", (match,)).fetchall()
            lat.append(time.perf_counter() - t)
        size = os.path.getsize(os.path.join(tmp, "fts.sqlite")) / 1e6
        db.close()
    return {"build_s": build, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "size_mb": size}


def benchmark_queries() -> list[str]:
    import json

    path = ROOT / "benchmarks" / "data" / "queries.jsonl"
    return [json.loads(l)["query"] for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def bench_query_embedding(queries: int) -> dict | None:
    try:
        from textmine.embed import Embedder

        emb = Embedder()
    except Exception as exc:  # no model built: say so, measure the rest
        print(f"(query embedding not measured: {exc})", file=sys.stderr)
        return None
    qs = ["Får kommunen kräva att man söker bostad i hela landet?", "överenskommelse om information vid flytt",
          "sekretess mellan socialtjänster", "nyanlända barnfamiljer Hällefors", "4 kap. 1 § SoL bistånd"]
    emb.embed_queries(qs)  # warm up
    lat = []
    for i in range(queries):
        t = time.perf_counter()
        emb.embed_queries([qs[i % len(qs)]])
        lat.append(time.perf_counter() - t)
    return {"p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "model": emb.model_name}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    sizes = [int(s) for s in args.sizes.split(",")]
    emb = bench_query_embedding(args.queries // 2)
    print(f"# Query latency — {platform.node()} ({os.cpu_count()} cores), {date.today()}; {args.queries} queries per cell, top 200\n")
    if emb:
        print(f"query embedding ({emb['model']}): p50 {emb['p50_ms']:.1f} ms, p95 {emb['p95_ms']:.1f} ms\n")
    print("| passages | FAISS flat p50/p95 ms | build s | FAISS HNSW p50/p95 ms | build s | recall@10 | FTS5 BM25 p50/p95 ms | FTS build s | hybrid p95 ms (HNSW above 200k) |")
    print("|---:|---|---:|---|---:|---:|---|---:|---:|")
    for n in sizes:
        f = bench_faiss(n, args.queries, rng)
        k = bench_fts(n, args.queries, rng)
        chosen = f["hnsw"] if n > 200_000 or "flat" not in f else f["flat"]
        # search runs the keyword query beside (embed + vector search): the slower one counts
        hybrid = max((emb["p95_ms"] if emb else 0) + chosen["p95_ms"], k["p95_ms"]) + 5  # + fusion and row fetch
        flat = f.get("flat")
        print(
            f"| {n:,} | {flat['p50_ms']:.1f} / {flat['p95_ms']:.1f} | {flat['build_s']:.1f} | "
            f"{f['hnsw']['p50_ms']:.1f} / {f['hnsw']['p95_ms']:.1f} | {f['hnsw']['build_s']:.1f} | {f['hnsw']['recall@10']:.3f} | "
            f"{k['p50_ms']:.1f} / {k['p95_ms']:.1f} | {k['build_s']:.1f} | {hybrid:.0f} |"
        )
        sys.stdout.flush()
    print(f"\npeak RSS {rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
