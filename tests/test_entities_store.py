"""Entities through the whole flow: parse --json, the store, `textmine entities`,
`textmine retag`, and the facts derived for each document."""

from __future__ import annotations

import json
import sqlite3

from conftest import DOCUMENTS, run_cli


def test_parse_json_has_entities_with_offsets():
    doc = json.loads(run_cli("parse", str(DOCUMENTS / "kr-stockholm-2019-8812-18.pdf"), "--json", check=True).stdout)
    ents = doc["entities"]
    assert ents
    for e in ents:
        assert set(e) >= {"label", "text", "norm", "page", "block", "start", "end"}
        block = doc["pages"][e["page"] - 1]["blocks"][e["block"]]
        assert block["text"][e["start"]:e["end"]] == e["text"]
    found = {(e["label"], e["norm"]) for e in ents}
    assert ("COURT", "Kammarrätten i Stockholm") in found
    assert ("CASE_REF", "Förvaltningsrätten i Stockholm mål 4155-18") in found
    assert ("PROVISION", "2001:453 4 kap. 1 §") in found
    assert ("PERSONNUMMER", "19840312-5637") in found
    assert ("AGENCY", "Socialnämnden i Södertälje kommun") in found
    assert ("KOMMUN", "1863") in found  # Hällefors
    facts = doc["facts"]
    assert facts["courts"][0]["name"] in ("Kammarrätten i Stockholm", "Förvaltningsrätten i Stockholm")
    assert any(l["sfs"] == "2001:453" for l in facts["laws"])
    no_tags = json.loads(run_cli("parse", str(DOCUMENTS / "rr-2010-not-12.pdf"), "--json", "--no-entities", check=True).stdout)
    assert "entities" not in no_tags


def test_facts_of_county_report_and_municipal_review():
    report = json.loads(run_cli("parse", str(DOCUMENTS / "lst-orebro-2022-rapport.pdf"), "--json", check=True).stdout)
    assert report["facts"]["county"] == {"code": "18", "name": "Örebro län"}
    codes = [m["code"] for m in report["facts"]["municipalities"]]
    assert {"1860", "1863", "1880"} <= set(codes)  # Laxå, Hällefors, Örebro
    review = json.loads(run_cli("parse", str(DOCUMENTS / "hallefors-2020-oversyn.pdf"), "--json", check=True).stdout)
    assert review["facts"]["county"]["code"] == "18"
    assert review["facts"]["municipalities"][0]["code"] == "1863"


def test_entities_command_and_retag(corpus_home):
    rows = json.loads(run_cli("entities", "--home", str(corpus_home), "--label", "KOMMUN", "--json", check=True).stdout)
    assert rows and all(r["label"] == "KOMMUN" for r in rows)
    hall = next(r for r in rows if r["norm"] == "1863")
    assert hall["name"] == "Hällefors" and hall["documents"] >= 5
    courts = json.loads(run_cli("entities", "--home", str(corpus_home), "-l", "court", "--json", check=True).stdout)
    assert any(r["norm"] == "Högsta förvaltningsdomstolen" for r in courts)
    bad = run_cli("entities", "--home", str(corpus_home), "--label", "NOPE")
    assert bad.returncode == 1 and "unknown label" in bad.stderr

    db = sqlite3.connect(corpus_home / "textmine.sqlite")
    before = db.execute("SELECT COUNT(*) FROM entities").fetchone()[0]
    db.execute("DELETE FROM entities")  # as if tagging had never run
    db.commit()
    summary = json.loads(run_cli("retag", "--home", str(corpus_home), "--json", check=True).stdout)
    after = db.execute("SELECT COUNT(*) FROM entities").fetchone()[0]
    assert summary["entities"] == after == before
    blocks_before = db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0]
    assert blocks_before > 0  # retag did not touch the parsed blocks
    db.close()


def test_show_lists_facts(corpus_home):
    out = run_cli("show", "kr-stockholm-2019-8812-18.pdf", "--home", str(corpus_home), check=True).stdout
    assert "courts: " in out and "laws: " in out
