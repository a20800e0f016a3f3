"""Code suggestions and the workbench's speed, on the demo corpus.

Suggestions for a passage: for each probe (a short description of a situation that one
starter code is about), the top 3 search hits are taken as passages of that code, and
we look where coding.suggest_for_passage ranks the code among the 44 starter codes. A
rough measure (the probe passages come from search, not from a human coder), but it
tells whether the suggestions put the fitting code where a coder sees it.
Also timed: a code's passage suggestions, a passage's code suggestions, an agreement
report and a REFI-QDA export, with realistic numbers of codings.

Usage: python benchmarks/coding.py [--home DIR]   (default: ingest corpus/documents into a temporary store)"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PROBES = {
    "sekretess samtycke informationsöverföring till mottagande kommun": "Sekretess och samtycke",
    "villkor för försörjningsstöd att söka bostad i hela landet": "Krav på bostadssökande utanför kommunen",
    "skyddat boende våld i nära relation": "Skyddat boende och våld i nära relationer",
    "tvååriga kontrakt enligt bosättningslagen löper ut": "Kontrakt som löper ut",
    "barnen byter skola mitt i terminen": "Skolbyten och uppbrutna nätverk",
    "överenskommelse mellan kommunerna i länet om flytt": "Överenskommelser och avsiktsförklaringar",
    "kommunen betalade hyran och flyttkostnaden": "Betald hyra och flyttkostnader",
    "privata hyresvärdar hyr ut till hushåll med försörjningsstöd från andra kommuner":
        "Privata hyresvärdar och bostadsförmedling",
}


def store_home(arg: str | None) -> tuple[Path, Path | None]:
    if arg:
        return Path(arg), None
    tmp = Path(tempfile.mkdtemp(prefix="textmine-coding-bench-"))
    subprocess.run([sys.executable, "-m", "textmine.cli", "ingest", str(ROOT / "corpus" / "documents"), "--home",
                    str(tmp), "--quiet"], check=True)
    return tmp, tmp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="an ingested store to use (a copy is made; nothing is written to it)")
    args = parser.parse_args()
    home, cleanup = store_home(args.home)
    work = Path(tempfile.mkdtemp(prefix="textmine-coding-work-")) / "home"
    shutil.copytree(home, work)

    from textmine import analysis, coding, coding_export
    from textmine.search import Searcher
    from textmine.store import Store

    store = Store(work)
    searcher = Searcher(store)
    coding.ensure_starter_codebook(store)
    ranks = []
    for probe, gold in PROBES.items():
        for hit in searcher.search(probe, k=3).hits:
            ranked = [s.code for s in coding.suggest_for_passage(store, searcher.embedder, searcher.index,
                                                                  hit.passage_id, k=44)]
            ranks.append(ranked.index(gold) + 1)
    n = len(ranks)
    print(f"\nSuggested codes for a passage ({n} probe passages, 44 codes)\n")
    print("| measure | value |\n|---|---:|")
    print(f"| fitting code ranked 1st | {sum(r == 1 for r in ranks) / n:.0%} |")
    print(f"| fitting code in the top 3 | {sum(r <= 3 for r in ranks) / n:.0%} |")
    print(f"| fitting code in the top 5 (shown in the UI) | {sum(r <= 5 for r in ranks) / n:.0%} |")
    print(f"| mean rank | {statistics.mean(ranks):.2f} |")

    # two coders code 200 passages each (overlapping), then time the everyday operations
    ids = [r["passage_id"] for r in store.passage_rows("p.kind != 'footnotes' ORDER BY p.id LIMIT 300")]
    names = [c.name for c in coding.flat_codebook(store)]
    for i, pid in enumerate(ids[:200]):
        coding.assign(store, "A", names[i % len(names)], pid)
    for i, pid in enumerate(ids[100:300]):
        coding.assign(store, "B", names[(i + 100 + (i % 3 == 0)) % len(names)], pid)
    timings = {}

    def timed(name, fn, repeat=5):
        values = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            values.append((time.perf_counter() - t) * 1000)
        timings[name] = statistics.median(values)

    timed("suggest passages for a code (k=10)", lambda: coding.suggest_for_code(store, searcher.embedder, searcher.index,
                                                                                 "Bostadsbrist", k=10))
    timed("suggest codes for a passage (k=5)", lambda: coding.suggest_for_passage(store, searcher.embedder,
                                                                                   searcher.index, ids[5], k=5))
    timed("agreement report, 400 codings", lambda: analysis.agreement(store, "A", "B"))
    timed("frequencies by county", lambda: analysis.frequencies(store, "county"))
    out = work.parent / "bench.qdpx"
    timed("REFI-QDA export, 400 codings", lambda: coding_export.export(store, "qdpx", out), repeat=3)
    print(f"\nSpeed on {store.stats()['passages']} passages (median ms)\n")
    print("| operation | ms |\n|---|---:|")
    for name, ms in timings.items():
        print(f"| {name} | {ms:.0f} |")
    store.close()
    shutil.rmtree(work.parent, ignore_errors=True)
    if cleanup:
        shutil.rmtree(cleanup, ignore_errors=True)


if __name__ == "__main__":
    main()
