"""How well the good-example catalogue (practice.py) finds the good practices of the demo
corpus's fictional world (corpus/sources/WORLD.md, GP1-GP6) and fills in their fields.

For each practice: is there a catalogue example in the right county of the right kind,
and does the best such example carry the right date and parties? The practices are
described by several documents (the agreement itself, county reports, press releases);
the agreement documents should each give exactly one example. Also: how many examples
the catalogue holds, by kind, and how long a build takes.

Usage: python benchmarks/good_examples.py [--home DIR] [--json]
Without --home the demo corpus is ingested into a temporary store first (a few minutes)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

OREBRO_LAN = {"1814", "1860", "1861", "1862", "1863", "1864", "1880", "1881", "1882", "1883", "1884", "1885"}
# id -> (county, kind, date prefix or None, parties that must be named or None), from WORLD.md
PRACTICES = {
    "GP1 Örebro läns överenskommelse": ("18", "agreement", "2022-03-15", OREBRO_LAN),
    "GP2 Dalarnas nätverk": ("20", "network", None, None),
    "GP2 Dalarnas rutin": ("20", "routine", "2022-06", None),
    "GP3 Växjö–Lessebo": ("07", "agreement", "2023-02-01", {"0780", "0761"}),
    "GP4 Sundsvall–Kramfors–Sollefteå": ("22", "agreement", "2022-09", {"2281", "2282", "2283"}),
    "GP5 Skåne Nordost–Malmö": ("12", "agreement", "2023", {"1275", "1293", "1276", "1257", "1280"}),
    "GP6 Västmanlands utbildningsdagar": ("19", "training", "2022", None),
}


def build_store() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="textmine-catalogue-"))
    print(f"ingesting the demo corpus into {tmp} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "textmine.cli", "ingest", str(ROOT / "corpus" / "documents"), "--home",
                    str(tmp), "--quiet"], check=True)
    return tmp


def evaluate(home: Path) -> dict:
    from textmine.practice import build_catalogue, list_examples
    from textmine.store import Store

    store = Store(home, create=False)
    started = time.perf_counter()
    build_catalogue(store)
    seconds = time.perf_counter() - started
    examples = list_examples(store)
    rows = []
    for name, (county, kind, date, parties) in PRACTICES.items():
        found = [e for e in examples if e.county == county and e.kind == kind]

        def fit(e):
            codes = {p["code"] for p in e.parties}
            return ((date is None or (e.date or "").startswith(date)), (parties is None or parties <= codes),
                    e.doc_type == "agreement")

        best = max(found, key=fit, default=None)
        ok = fit(best) if best else (False, False, False)
        rows.append({"practice": name, "found": bool(found), "examples": len(found), "date": ok[0], "parties": ok[1],
                     "best": best.title if best else None})
    agreement_docs = Counter(e.document for e in examples if e.doc_type == "agreement")
    return {
        "practices": rows,
        "found": sum(r["found"] for r in rows), "date_right": sum(r["date"] for r in rows),
        "parties_right": sum(r["parties"] for r in rows), "n": len(rows),
        "examples": len(examples), "by_kind": dict(Counter(e.kind for e in examples)),
        "agreement_documents": len(agreement_docs), "agreement_documents_split": sum(1 for v in agreement_docs.values() if v > 1),
        "build_seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="a store with the demo corpus ingested")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = Path(args.home) if args.home else build_store()
    try:
        result = evaluate(home)
    finally:
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print("| practice | found (examples) | date right | parties right | best example |")
    print("|---|---:|:-:|:-:|---|")
    for r in result["practices"]:
        print(f"| {r['practice']} | {'yes' if r['found'] else 'no'} ({r['examples']}) | {'yes' if r['date'] else 'no'} | "
              f"{'yes' if r['parties'] else 'no'} | {r['best'] or '-'} |")
    print(f"\nfound {result['found']}/{result['n']}, date right {result['date_right']}/{result['n']}, "
          f"parties right {result['parties_right']}/{result['n']}")
    print(f"{result['examples']} examples, by kind {result['by_kind']}; {result['agreement_documents']} agreement "
          f"documents, {result['agreement_documents_split']} of them split into several examples; "
          f"build {result['build_seconds']} s")


if __name__ == "__main__":
    main()
