"""Load test of the web API: N concurrent clients for S seconds against /api/search on a
real `textmine serve` process (the server users run), on this machine.

Three workloads, each printed as a row:
- sessions: each client acts as a user: a question the server has never seen (one of
  the 89 labelled queries of benchmarks/data/queries.jsonl plus a varying extra word),
  then one to three follow-ups on it (a facet filter, page 2, another mode), which
  meet the server's query-embedding cache as paging and facet clicks do. About 40 %
  of the requests embed a new query.
- repeated: the 89 labelled queries as they are, with filters, pages and modes mixed
  in; after the first minute nearly every query embedding is cached.
- new queries: every request a query never seen before: every request embeds, the
  worst case.

Target (issue #5): 0 errors and p95 <= 300 ms with 20 clients.
Usage: python benchmarks/web.py [--home DIR] [--clients 20] [--seconds 30]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
QUERIES = ROOT / "benchmarks" / "data" / "queries.jsonl"
REAL = (ROOT / ".." / "shared" / "real-corpus").resolve()
COUNTIES = ["Örebro län", "Skåne", "Stockholms län", "Västernorrlands län", "Dalarna", "18", "12"]
TYPES = ["court_ruling", "county_report", "municipal_review", "agreement", "agency_report"]
EXTRA_WORDS = ["kommun", "bostad", "hyra", "flytt", "barn", "socialtjänst", "bistånd", "ansvar", "nämnden", "samverkan",
               "kontrakt", "länsstyrelsen", "domstol", "överenskommelse", "sekretess", "hyresvärd", "stöd", "familj"]


def ensure_store(home: Path) -> None:
    """The benchmark store: the demo corpus and the real documents (built once)."""
    from textmine.indexing import update_indexes
    from textmine.ingest import ingest
    from textmine.store import Store

    with Store(home) as store:
        paths = [ROOT / "corpus" / "documents"] + ([REAL] if REAL.exists() else [])
        ingest(store, paths, quiet=True)
        update_indexes(store, quiet=True)
        stats = store.stats()
    print(f"store {home}: {stats['documents']} documents, {stats['passages']} passages", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("textmine")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "textmine.cli"]
    log = open(home / "web-benchmark-server.log", "w")  # a pipe nobody reads would stall the server
    proc = subprocess.Popen(cmd + ["serve", "--home", str(home), "--port", str(port)], stderr=log, text=True)
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped: {(home / 'web-benchmark-server.log').read_text()[-500:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=2).read()
            return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


class Session:
    """A user: a new question (never sent before), then one to three follow-ups on it
    (a facet, the next page, another search mode), then a new question."""

    def __init__(self):
        self.query = None
        self.follow_ups = 0

    def __call__(self, rng: random.Random, queries: list[str], n: int) -> dict:
        if self.query is None or self.follow_ups == 0:
            self.query = new_query_request(rng, queries, n)["q"]
            self.follow_ups = rng.randint(1, 3)
            return {"q": self.query}
        self.follow_ups -= 1
        params = {"q": self.query}
        r = rng.random()
        if r < 0.4:
            params["type"] = rng.choice(TYPES)
        elif r < 0.6:
            params["county"] = rng.choice(COUNTIES)
        elif r < 0.85:
            params["page"] = "2"
        else:
            params["mode"] = rng.choice(["keyword", "semantic"])
        return params


def mixed_request(rng: random.Random, queries: list[str], _n: int) -> dict:
    params = {"q": rng.choice(queries)}
    r = rng.random()
    if r < 0.25:
        if rng.random() < 0.5:
            params["type"] = rng.choice(TYPES)
        else:
            params["county"] = rng.choice(COUNTIES)
    if rng.random() < 0.2:
        params["page"] = "2"
    m = rng.random()
    if m < 0.1:
        params["mode"] = "keyword"
    elif m < 0.2:
        params["mode"] = "semantic"
    return params


def new_query_request(rng: random.Random, queries: list[str], n: int) -> dict:
    # a query never sent before: a labelled query with a varying extra word and number
    return {"q": f"{rng.choice(queries)} {rng.choice(EXTRA_WORDS)} {n}"}


async def run_load(base: str, make, queries: list[str], clients: int, seconds: float, seed: int) -> dict:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def client(i: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + i)
        user = make() if isinstance(make, type) else make  # a Session per client
        while time.perf_counter() < deadline:
            params = user(rng, queries, next(counter))
            start = time.perf_counter()
            try:
                r = await http.get(base + "/api/search", params=params)
                body = r.content
                if r.status_code != 200:
                    errors.append(f"{r.status_code}: {body[:120]!r}")
                elif b'"hits"' not in body:
                    errors.append("no hits field")
            except httpx.HTTPError as exc:
                errors.append(f"{exc.__class__.__name__}: {exc}")
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "max": latencies[-1] * 1000 if latencies else float("nan"), "errors": len(errors),
            "error_samples": errors[:3]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", default=str(ROOT / "indexes" / "bench"))
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--json", action="store_true", help="Print the figures as JSON.")
    args = ap.parse_args()
    home = Path(args.home)
    ensure_store(home)
    queries = [json.loads(l)["query"] for l in QUERIES.read_text(encoding="utf-8").splitlines() if l.strip()]
    port = free_port()
    server = start_server(home, port)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(run_load(base, mixed_request, queries, 4, 3, seed=99))  # warm-up: caches of SQLite pages and FAISS
        rows = {
            "sessions": asyncio.run(run_load(base, Session, queries, args.clients, args.seconds, seed=3)),
            "repeated": asyncio.run(run_load(base, mixed_request, queries, args.clients, args.seconds, seed=1)),
            "new queries": asyncio.run(run_load(base, new_query_request, queries, args.clients, args.seconds, seed=2)),
        }
    finally:
        server.terminate()
        server.wait(10)
    if args.json:
        print(json.dumps({"clients": args.clients, "seconds": args.seconds, "cpus": os.cpu_count(), "workloads": rows}, indent=2))
        return 0
    print(f"/api/search, {args.clients} concurrent clients, {args.seconds:.0f} s each, {os.cpu_count()} CPUs, one server process")
    print(f"{'workload':<12} {'requests':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>7}")
    for name, r in rows.items():
        print(f"{name:<12} {r['requests']:>9} {r['rps']:>7.1f} {r['p50']:>7.0f} {r['p95']:>7.0f} {r['p99']:>7.0f} {r['max']:>7.0f} {r['errors']:>7}")
        for e in r["error_samples"]:
            print(f"   error: {e}")
    for name, r in rows.items():
        ok = r["errors"] == 0 and r["p95"] <= 300
        print(f"target (0 errors, p95 <= 300 ms) on {name}: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
