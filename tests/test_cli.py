"""The CLI contract: --help everywhere, --json prints JSON only, documented fields."""

from __future__ import annotations

import json

from conftest import DOCUMENTS, run_cli

COMMANDS = ["ingest", "parse", "docs", "show", "failures", "remove"]


def test_help_on_every_command():
    top = run_cli("--help", check=True).stdout
    for cmd in COMMANDS:
        assert cmd in top
        out = run_cli(cmd, "--help", check=True).stdout
        assert "Usage" in out
        if cmd != "parse":
            assert "--home" in out, cmd
        assert "--json" in out, cmd


def test_parse_json_shape():
    proc = run_cli("parse", str(DOCUMENTS / "lst-orebro-2022-rapport.pdf"), "--json", check=True)
    doc = json.loads(proc.stdout)  # stdout is JSON only
    for key in ("path", "sha256", "doc_type", "title", "date", "issuer", "pages"):
        assert key in doc
    assert doc["doc_type"] == "county_report" and len(doc["sha256"]) == 64
    page = doc["pages"][1]
    assert set(page) >= {"number", "ocr", "blocks"}
    kinds = {b["kind"] for p in doc["pages"] for b in p["blocks"]}
    assert {"heading", "paragraph", "footnote", "header", "footer", "quote", "table", "list_item"} <= kinds
    heading = next(b for p in doc["pages"] for b in p["blocks"] if b["kind"] == "heading" and "number" in b)
    assert heading["level"] >= 1 and heading["number"]
    note = next(b for p in doc["pages"] for b in p["blocks"] if b["kind"] == "footnote")
    assert note["number"].isdigit() and note["ref_page"] >= 1


def test_human_output_reads_well():
    out = run_cli("parse", str(DOCUMENTS / "kr-stockholm-2019-8812-18.pdf"), check=True).stdout
    assert out.splitlines()[1].startswith("type: court_ruling")
    assert "KLAGANDE" in out and "--- page 2 ---" in out
