"""How well cases.py reads the sending and the receiving municipality of a case, measured
on the demo corpus, whose fictional world (corpus/sources/WORLD.md) fixes the flows.

The passages: every demo passage the annotators labelled `dumping_case` in the labelled
set (src/textmine/data/passage_labels.jsonl), with the title, issuer, type and date of its
document from corpus/truth.json. No store and no classifier are involved, so the figure is
about extraction only.

The gold flow of a passage, from the world's flows (F1-F12, and chain B of the rulings):
- the one world flow whose sender and receiver are both named in the passage; else
- the flow its document is about (DOC_FLOWS below, one flow per document, written by
  hand from the sources), when the passage names the sender or the receiver of that flow.
Passages naming neither (general descriptions, quotes without names, other counties'
flows) have no gold flow: for them we only count how often extraction states a side
anyway ("stated without gold"), which is not necessarily wrong.

A side counts as right when it equals the gold side, wrong when it names another
municipality, and missing when it is unknown. Extraction by document context (a side
filled from the document's main flow) is counted like any other answer.

Usage: python benchmarks/cases.py [--json]"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

WORLD = {  # id -> (sender, receiver) SCB codes, from corpus/sources/WORLD.md
    "F1": ("0181", "1863"), "F2": ("0180", "1864"), "F3": ("1280", "1275"), "F4": ("1480", "1460"),
    "F5": ("0380", "2181"), "F6": ("0581", "0512"), "F7": ("1980", "1962"), "F8": ("2281", "2282"),
    "F9": ("0780", "0761"), "F10": ("1780", "1782"), "F11": ("1880", "1860"), "F12": ("2180", "2101"),
    "B": ("1283", "1260"),  # chain B: Helsingborg -> Bjuv (länsrätt 2008, kammarrätt 2009, RÅ 2010 not 12)
}
DOC_FLOWS = {  # demo document (source id) -> the one world flow it is about
    "hallefors-2020-oversyn": "F1", "pm-hallefors-2020-inflyttning": "F1", "sodertalje-2021-egen-granskning": "F1",
    "fr-stockholm-2018-4155-18": "F1", "kr-stockholm-2019-8812-18": "F1", "hfd-2019-2261-19": "F1",
    "pm-kammarratten-stockholm-2019": "F1", "ljusnarsberg-2021-redovisning": "F2", "perstorp-2021-rapport": "F3",
    "fr-malmo-2021-6543-21": "F3", "kr-goteborg-2022-2876-22": "F3", "avsiktsforklaring-goteborg-bengtsfors-2022": "F4",
    "fr-uppsala-2022-3456-22": "F5", "fr-linkoping-2020-7788-20": "F6", "fr-falun-2022-4410-22": "F7",
    "lst-vastmanland-2022-rapport": "F7", "fr-harnosand-2021-1540-21": "F8", "kr-sundsvall-2022-987-22": "F8",
    "hfd-2023-ref-31": "F8", "kramfors-2022-konsekvensanalys": "F8", "lst-vasternorrland-2022-rapport": "F8",
    "lst-kronoberg-2023-rapport": "F9", "kr-jonkoping-2023-1234-23": "F9", "overenskommelse-vaxjo-lessebo-2023": "F9",
    "filipstad-2020-skrivelse": "F10", "fr-karlstad-2019-2210-19": "F10", "lst-varmland-2021-rapport": "F10",
    "kr-sundsvall-2024-612-24": "F12", "lr-skane-2008-2345-08": "B", "kr-goteborg-2009-5678-08": "B",
    "rr-2010-not-12": "B",
}


def names_in(text: str) -> set[str]:
    """SCB codes of the world's municipalities named in a text (name or genitive)."""
    from textmine.nlp.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    found = set()
    for pair in WORLD.values():
        for code in pair:
            m = gaz.municipalities[code]
            if re.search(rf"(?<![\wåäöÅÄÖ])(?:{re.escape(m.name)}|{re.escape(m.genitive)})(?![\wåäöÅÄÖ])", text):
                found.add(code)
    return found


def gold_flow(text: str, source_id: str) -> tuple[str, str] | None:
    named = names_in(text)
    both = [pair for pair in WORLD.values() if set(pair) <= named]
    if len(both) == 1:
        return both[0]
    flow = DOC_FLOWS.get(source_id)
    if flow and (set(WORLD[flow]) & named):
        return WORLD[flow]
    return None


def evaluate() -> dict:
    from textmine.cases import extract_cases_of_document
    from textmine.labels import load_examples

    truth = {Path(t["file"]).name: t for t in json.loads((ROOT / "corpus" / "truth.json").read_text(encoding="utf-8"))}
    everything = load_examples()
    examples = [e for e in everything if "dumping_case" in e.labels and e.document in truth and e.text]
    # the whole text of each document (every demo passage is in the set), for a ruling's parties
    full_text: dict[str, str] = {}
    for e in everything:
        if e.text:
            full_text[e.document] = full_text.get(e.document, "") + "\n" + e.text
    by_doc: dict[str, list] = {}
    for e in examples:
        by_doc.setdefault(e.document, []).append(e)
    start = time.perf_counter()
    rows = []
    for doc_name, exs in by_doc.items():
        t = truth[doc_name]
        doc_rows = [{"passage_id": e.passage_id, "doc_id": 0, "title": t["title"], "page_start": 1, "text": e.text,
                     "issuer": t.get("issuer"), "doc_type": t["doc_type"], "date": t.get("date")} for e in exs]
        found = extract_cases_of_document(doc_rows, {}, full_text.get(doc_name, ""))
        for e, case in zip(exs, found):
            rows.append((t["id"], gold_flow(e.text, t["id"]), case))
    elapsed = time.perf_counter() - start
    with_gold = [(g, c) for _, g, c in rows if g]
    out = {"passages": len(rows), "with_gold": len(with_gold), "documents": len(by_doc),
           "ms_per_passage": 1000 * elapsed / max(1, len(rows))}
    for side, i in (("sender", 0), ("receiver", 1)):
        got = [getattr(c, side) for _, c in with_gold]
        right = sum(1 for (g, _), v in zip(with_gold, got) if v == g[i])
        wrong = sum(1 for (g, _), v in zip(with_gold, got) if v is not None and v != g[i])
        out[side] = {"right": right, "wrong": wrong, "missing": len(with_gold) - right - wrong}
    out["both_right"] = sum(1 for g, c in with_gold if (c.sender, c.receiver) == g)
    out["county_pair_right"] = sum(1 for g, c in with_gold if c.sender_county and c.receiver_county
                                   and (c.sender_county, c.receiver_county) == (g[0] and _county(g[0]), _county(g[1])))
    no_gold = [c for _, g, c in rows if not g]
    out["without_gold"] = len(no_gold)
    out["stated_without_gold"] = sum(1 for c in no_gold if c.sender or c.receiver)
    out["errors"] = [{"document": d, "passage_id": c.passage_id, "gold": g, "got": [c.sender, c.receiver]}
                     for d, g, c in rows if g and (c.sender, c.receiver) != g]
    return out


def _county(code: str) -> str | None:
    from textmine.nlp.gazetteer import load_gazetteer

    return load_gazetteer().county_of(code)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--errors", action="store_true", help="list the passages whose pair is not the gold pair")
    args = ap.parse_args()
    out = evaluate()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    n = out["with_gold"]

    def pct(k: int) -> str:
        return f"{k:>4}  {100 * k / n:5.1f} %" if n else "   -"

    print(f"Case extraction on the demo corpus: {out['passages']} dumping_case passages in {out['documents']} documents, "
          f"{n} with a gold flow")
    print(f"{'':28}{'n':>4}  {'share':>7}")
    for side in ("sender", "receiver"):
        for k in ("right", "wrong", "missing"):
            print(f"{side + ' ' + k:28}{pct(out[side][k])}")
    print(f"{'both sides right':28}{pct(out['both_right'])}")
    print(f"{'county pair right':28}{pct(out['county_pair_right'])}")
    print(f"{'no gold flow':28}{out['without_gold']:>4}  (a side stated anyway: {out['stated_without_gold']})")
    print(f"{'time per passage':28}{out['ms_per_passage']:.2f} ms")
    if args.errors:
        for e in out["errors"]:
            print(f"  {e['passage_id']}  {e['document']}: gold {e['gold']} got {e['got']}")


if __name__ == "__main__":
    main()
