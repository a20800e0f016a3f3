"""Precedent cards from court rulings in every layout: the first-page header block with
labels, published referat with Lagrum/Rättsfall/Sökord lines, notices, older Regeringsrätten
rulings, NJA, AD and MIG cases, in PDF, Word and scans. Gold: benchmarks/data/rulings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

GOLD = ROOT / "benchmarks" / "data" / "rulings" / "gold.jsonl"


def gold() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def cards():
    """Every labelled ruling parsed, tagged and read into a card: {file: (card json, gold)}."""
    from textmine.nlp import tag_document
    from textmine.parse import parse_file
    from textmine.rulings import extract_card

    out = {}
    for g in gold():
        doc = parse_file(ROOT / g["file"])
        tag_document(doc)
        card = extract_card(doc)
        assert card is not None, f"{g['file']} was not read as a court ruling"
        out[Path(g["file"]).name] = (card.to_json(), g)
    return out


def test_first_page_header_layout(cards):
    card, _ = cards["kr-sundsvall-2022-987-22.pdf"]
    assert card["court"] == "Kammarrätten i Sundsvall" and card["court_level"] == "kammarrätt"
    assert card["case_numbers"] == ["987-22"] and card["decision_date"] == "2022-04-27" and card["referat"] is None
    assert card["parties"] == {"appellant": "G.H.", "counterparty": "Individ- och arbetsmarknadsnämnden i Sundsvalls kommun"}
    assert card["subject"] == "Ekonomiskt bistånd" and card["outcome"] == "avslag"
    assert {"sfs": "2001:453", "chapter": "4", "section": "1"} in card["lagrum"]
    assert card["cited_cases"] == ["Kammarrätten i Stockholm mål 8812-18"]
    assert {"court": "Förvaltningsrätten i Härnösand", "case_number": "1540-21", "date": "2021-12-08"} in card["lower_instances"]


def test_published_referat_with_lagrum_rattsfall_and_sokord(cards):
    card, _ = cards["hfd-2023-ref-31.pdf"]
    assert card["referat"] == "HFD 2023 ref. 31" and card["court_level"] == "högsta instans"
    assert card["outcome"] == "återförvisat"
    assert {(x["chapter"], x["section"]) for x in card["lagrum"]} == {("4", "1"), ("3", "5")}
    assert set(card["cited_cases"]) >= {"RÅ 2004 ref. 130", "RÅ 2010 not 12", "HFD 2017 ref. 65"}
    assert "Aktiv medverkan till bosättning i annan kommun" in card["keywords"]
    lower = {(x["court"], x["case_number"]) for x in card["lower_instances"]}
    assert {("Förvaltningsrätten i Härnösand", "1540-21"), ("Kammarrätten i Sundsvall", "987-22")} <= lower


def test_notice_older_court_and_other_reporters(cards):
    notice, _ = cards["rr-2010-not-12.pdf"]
    assert notice["court"] == "Regeringsrätten" and notice["referat"] == "RÅ 2010 not 12"
    assert notice["parties"]["appellant"] == "Socialnämnden i Helsingborgs kommun" and notice["outcome"] == "avslag"
    nja, _ = cards["nja-2017-s-1042.pdf"]
    assert nja["court"] == "Högsta domstolen" and nja["referat"] == "NJA 2017 s. 1042" and nja["case_numbers"] == ["T 2291-16"]
    ad, _ = cards["ad-2019-nr-27.pdf"]
    assert ad["court"] == "Arbetsdomstolen" and ad["case_numbers"] == ["A 143/18"] and ad["outcome"] == "bifall"
    assert ad["parties"] == {"appellant": "Vision", "counterparty": "Södertälje kommun"}
    mig, _ = cards["mig-2016-14.pdf"]
    assert mig["court"] == "Kammarrätten i Stockholm" and mig["court_level"] == "högsta instans" and mig["referat"] == "MIG 2016:14"


def test_word_and_scanned_rulings(cards):
    word, g = cards["kr-stockholm-2021-1455-21.docx"]
    assert word["case_numbers"] == ["1455-21"] and word["outcome"] == g["outcome"] == "återförvisat"
    scan, g = cards["kr-goteborg-2019-5512-19.pdf"]  # a scan: read by OCR
    assert scan["outcome"] == "prövningstillstånd meddelas inte"
    assert scan["lagrum"] == [{"sfs": "1971:291", "chapter": None, "section": "34 a"}]  # "34 a 8" mended to "34 a §"


def test_accuracy_per_field_meets_the_targets(cards):
    """The targets of issue #6 over all 47 labelled rulings (benchmarks/rulings.py prints
    the same figures per split)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_rulings", ROOT / "benchmarks" / "rulings.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for field, target in bench.TARGETS.items():
        right = [bench.comparable(field, card.get(field)) == bench.comparable(field, g[field]) for card, g in cards.values()]
        assert sum(right) / len(right) >= target, (field, sum(right), len(right))


def test_outcome_wording():
    from textmine.rulings import classify_outcome

    assert classify_outcome("Kammarrätten meddelar prövningstillstånd men avslår överklagandet.") == "avslag"
    assert classify_outcome("Kammarrätten meddelar inte prövningstillstånd.") == "prövningstillstånd meddelas inte"
    assert classify_outcome("Förvaltningsrätten bifaller delvis överklagandet.") == "delvis bifall"
    assert classify_outcome("Förvaltningsrätten upphäver beslutet och visar målet åter till nämnden för ny prövning.") == "återförvisat"
    assert classify_outcome("Kammarrätten undanröjer förvaltningsrättens dom.") == "undanröjt"
    assert classify_outcome("Förvaltningsrätten avvisar överklagandet.") == "avvisat"
    assert classify_outcome("Förvaltningsrätten bifaller överklagandet.") == "bifall"


def test_genitive_names_become_nominative():
    from textmine.rulings import _nominative

    assert _nominative("Socialnämndens i Södertälje kommun") == "Socialnämnden i Södertälje kommun"
    assert _nominative("Socialnämnden Nordosts i Göteborgs Stad") == "Socialnämnden Nordost i Göteborgs Stad"
    assert _nominative("Förvaltningsrätten i Härnösands") == "Förvaltningsrätten i Härnösand"
    assert _nominative("1. Farsta stadsdelsnämnds") == "Farsta stadsdelsnämnd"


def test_ocr_section_sign_repairs():
    from textmine.parse.ocr import fix_ocr_line

    assert fix_ocr_line("(34 a 8 förvaltningsprocesslagen [1971:291])") == "(34 a § förvaltningsprocesslagen (1971:291))"
    assert fix_ocr_line("2 kap. 1 och 2 88 socialtjänstlagen") == "2 kap. 1 och 2 §§ socialtjänstlagen"
    assert fix_ocr_line("Han fick 8 lägenheter och 1 8 kronor") == "Han fick 8 lägenheter och 1 8 kronor"


def test_parse_json_carries_the_card():
    proc = run_cli("parse", str(ROOT / "corpus" / "documents" / "hfd-2023-ref-31.pdf"), "--json", check=True)
    data = json.loads(proc.stdout)
    assert data["ruling"]["referat"] == "HFD 2023 ref. 31" and data["ruling"]["case_numbers"] == ["3310-22"]
    other = json.loads(run_cli("parse", str(ROOT / "corpus" / "documents" / "lst-orebro-2022-rapport.pdf"), "--json", check=True).stdout)
    assert "ruling" not in other


def test_stored_cards_links_and_the_rulings_command(corpus_home):
    proc = run_cli("rulings", "--home", str(corpus_home), "--json", check=True)
    cards = {Path(c["path"]).name: c for c in json.loads(proc.stdout)}
    assert len(cards) == 17 and all(c["court"] and c["outcome"] for c in cards.values())
    hfd = cards["hfd-2023-ref-31.pdf"]
    below = {Path(cards_by_id(cards)[x["doc_id"]]["path"]).name for x in hfd["links"]["appealed_from"]}
    assert {"fr-harnosand-2021-1540-21.pdf", "kr-sundsvall-2022-987-22.pdf"} <= below  # the appeal chain
    kr = cards["kr-stockholm-2019-8812-18.pdf"]
    citing = {Path(cards_by_id(cards)[x["doc_id"]]["path"]).name for x in kr["links"]["cited_by"]}
    assert "kr-sundsvall-2022-987-22.pdf" in citing  # "cited by" within the store
    assert {x["doc_id"] for x in cards["fr-stockholm-2018-4155-18.pdf"]["links"]["appealed_to"]} == {kr["doc_id"]}
    # filters: a provision, a court level, an outcome
    sol41 = json.loads(run_cli("rulings", "--home", str(corpus_home), "--provision", "2001:453 4 kap. 1 §",
                               "--court-level", "kammarrätt", "--json", check=True).stdout)
    assert sol41 and all(c["court_level"] == "kammarrätt" for c in sol41)
    assert all({"sfs": "2001:453", "chapter": "4", "section": "1"} in c["lagrum"] for c in sol41)
    refused = json.loads(run_cli("rulings", "--home", str(corpus_home), "--outcome", "avslag", "--json", check=True).stdout)
    assert refused and {c["outcome"] for c in refused} == {"avslag"}
    csv_out = run_cli("rulings", "--home", str(corpus_home), "--csv", check=True).stdout
    assert csv_out.splitlines()[0].startswith("doc_id,court,court_level,case_numbers") and len(csv_out.splitlines()) == 18
    bad = run_cli("rulings", "--home", str(corpus_home), "--outcome", "vinst")
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "unknown outcome" in bad.stderr


def cards_by_id(cards: dict) -> dict:
    return {c["doc_id"]: c for c in cards.values()}
