"""Parse throughput of textmine against pdftotext on the same files, in one run.

Sets: the demo corpus PDFs with a text layer, the real 44-page Statskontoret report,
and (separately, since pdftotext cannot read them) the scanned demo PDFs through OCR.
For each: pdftotext (one process per file, as a user would run it), plain pdfplumber
(`page.extract_text()` on every page: the naive baseline), textmine's parse stage on
one core, and textmine on all cores (files in parallel, long PDFs split by pages).
Best of --repeat runs. Usage: python benchmarks/ingest.py [--repeat 3]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from textmine.parse import parse_file  # noqa: E402

REAL = (ROOT / ".." / "shared" / "real-corpus").resolve()


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run_pdftotext(files):
    for f in files:
        subprocess.run(["pdftotext", "-q", str(f), "/dev/null"], check=False)


def run_plumber(files):
    import pdfplumber

    for f in files:
        with pdfplumber.open(str(f)) as pdf:
            for page in pdf.pages:
                page.extract_text()


def run_textmine(files, ocr="never"):
    for f in files:
        parse_file(f, ocr=ocr, jobs=1)


def _one(args):
    f, ocr, jobs = args
    return parse_file(f, ocr=ocr, jobs=jobs).n_pages


def run_textmine_parallel(files, jobs, ocr="never"):
    # long documents are split by pages; the rest go to a pool of file workers
    big = [f for f in files if page_count(f) >= 12]
    small = [f for f in files if f not in big]
    for f in big:
        parse_file(f, ocr=ocr, jobs=jobs)
    if small:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(_one, [(f, ocr, 1) for f in small]))


_pages: dict = {}


def page_count(f) -> int:
    if f not in _pages:
        import pypdfium2

        doc = pypdfium2.PdfDocument(str(f))
        _pages[f] = len(doc)
        doc.close()
    return _pages[f]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument("--no-end-to-end", action="store_true", help="skip the end-to-end ingest measurement")
    args = ap.parse_args()
    if not shutil.which("pdftotext"):
        print("pdftotext not found: install poppler-utils (make install does)", file=sys.stderr)
        return 1
    truth = json.loads((ROOT / "corpus" / "truth.json").read_text())
    demo = [ROOT / "corpus" / t["file"] for t in truth if t["format"] == "pdf"]
    scans = [ROOT / "corpus" / t["file"] for t in truth if t["format"] == "scan"]
    sets = [("demo corpus (text PDFs)", demo)]
    report = REAL / "statskontoret-2020-19-aktiv-medverkan.pdf"
    if report.exists():
        sets.append(("real report 2020:19", [report]))
        sets.append(("all real PDFs", sorted(REAL.glob("*.pdf"))))
    else:
        print(f"(real corpus not found at {REAL}: skipped)", file=sys.stderr)
    jobs = os.cpu_count() or 1

    # warm up imports and caches once
    run_textmine(demo[:2])
    rows = []
    for name, files in sets:
        pages = sum(page_count(f) for f in files)
        t_ref = best_of(args.repeat, lambda: run_pdftotext(files))
        t_plumber = best_of(1, lambda: run_plumber(files))
        t_one = best_of(args.repeat, lambda: run_textmine(files))
        t_par = best_of(args.repeat, lambda: run_textmine_parallel(files, jobs))
        rows.append(
            {
                "set": name, "files": len(files), "pages": pages,
                "pdftotext_s": t_ref, "pdfplumber_s": t_plumber, "textmine_1core_s": t_one,
                f"textmine_{jobs}cores_s": t_par,
                "ratio_plumber": t_plumber / t_ref, "ratio_1core": t_one / t_ref, "ratio_all_cores": t_par / t_ref,
                "pages_per_s_all_cores": pages / t_par,
            }
        )

    print(f"# Parse stage vs pdftotext — {platform.node()} ({os.cpu_count()} cores, Python {platform.python_version()}), {date.today()}")
    print(f"best of {args.repeat} runs; ratio = time / pdftotext time (target: textmine <= 10x)\n")
    head = f"| {'set':<24} | files | pages | pdftotext s | pdfplumber s (x) | textmine 1 core s (x) | textmine {jobs} cores s (x) | pages/s |"
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['set']:<24} | {r['files']:>5} | {r['pages']:>5} | {r['pdftotext_s']:>11.2f} "
            f"| {r['pdfplumber_s']:>8.2f} ({r['ratio_plumber']:>4.0f}x) "
            f"| {r['textmine_1core_s']:>13.2f} ({r['ratio_1core']:>4.1f}x) "
            f"| {r[f'textmine_{jobs}cores_s']:>14.2f} ({r['ratio_all_cores']:>4.1f}x) "
            f"| {r['pages_per_s_all_cores']:>7.1f} |"
        )
    if scans and shutil.which("tesseract"):
        pages = sum(page_count(f) for f in scans)
        t_ocr = best_of(1, lambda: run_textmine_parallel(scans, jobs, ocr="auto"))
        print(f"\nOCR (Tesseract swe, 300 dpi, {jobs} workers): {len(scans)} scanned files, {pages} pages in {t_ocr:.1f} s = {t_ocr / pages:.1f} s/page")
    if not args.no_end_to_end:
        e2e = end_to_end([f for _, files in sets[:1] for f in files] + ([report] if report.exists() else []))
        print(
            f"\nEnd to end (parse + tag + chunk + embed + index, {jobs} parser workers, empty embedding cache): "
            f"{e2e['files']} text PDFs, {e2e['pages']} pages, {e2e['passages']} passages in {e2e['seconds']:.1f} s = "
            f"{e2e['pages'] / e2e['seconds']:.1f} pages/s (parse+tag {e2e['parse_tag_s']:.1f} s, embedding "
            f"{e2e['embed_s']:.1f} s at {e2e['passages_per_s']} passages/s, rest {e2e['rest_s']:.1f} s)"
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


def end_to_end(files) -> dict:
    """The whole ingest of text-layer PDFs into an empty store, as `textmine ingest` runs it."""
    import tempfile

    from textmine.indexing import update_indexes
    from textmine.ingest import ingest
    from textmine.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        store = Store(Path(tmp) / "home")
        t = time.perf_counter()
        summary = ingest(store, [folder], quiet=True)
        parse_tag = time.perf_counter() - t
        result = update_indexes(store, quiet=True)
        total = time.perf_counter() - t
        pages = summary.pages
        store.close()
    return {
        "files": len(files), "pages": pages, "passages": result["passages_built"], "seconds": total, "parse_tag_s": parse_tag,
        "embed_s": result["seconds"] and (result["embedded"] / (result["passages_per_second"] or 1)),
        "passages_per_s": result["passages_per_second"], "rest_s": total - parse_tag - (result["embedded"] / (result["passages_per_second"] or 1)),
    }


if __name__ == "__main__":
    sys.exit(main())
