"""Ingest: idempotent, incremental, transactional per document, with progress and a
summary; the store round-trips documents exactly."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from conftest import DOCUMENTS, ROOT, TEXTMINE, run_cli


def test_corpus_ingested_and_listed(corpus_home, truth):
    docs = json.loads(run_cli("docs", "--home", str(corpus_home), "--json", check=True).stdout)
    assert len(docs) == len(truth)
    by_name = {os.path.basename(d["path"]): d for d in docs}
    for t in truth:
        d = by_name[os.path.basename(t["file"])]
        assert d["doc_type"] == t["doc_type"]
    assert sum(d["n_ocr_pages"] for d in docs) >= 2


def test_reingest_is_idempotent(corpus_home, truth):
    proc = run_cli("ingest", str(DOCUMENTS), "--home", str(corpus_home), "--json", check=True)
    summary = json.loads(proc.stdout)
    assert summary["ingested"] == 0 and summary["skipped"] == len(truth) and summary["failed"] == 0


def test_incremental_and_same_content_elsewhere(tmp_path):
    home = tmp_path / "home"
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DOCUMENTS / "hfd-2019-2261-19.pdf", folder)
    assert json.loads(run_cli("ingest", str(folder), "--home", str(home), "--json", "--no-index", check=True).stdout)["ingested"] == 1
    shutil.copy(DOCUMENTS / "rr-2010-not-12.pdf", folder)
    shutil.copy(DOCUMENTS / "hfd-2019-2261-19.pdf", folder / "kopia.pdf")  # same content, new name
    summary = json.loads(run_cli("ingest", str(folder), "--home", str(home), "--json", "--no-index", check=True).stdout)
    assert summary["ingested"] == 1 and summary["skipped"] == 2


def test_show_roundtrips_parse(corpus_home):
    name = "lst-orebro-2022-rapport.pdf"
    parsed = json.loads(run_cli("parse", str(DOCUMENTS / name), "--json", check=True).stdout)
    shown = json.loads(run_cli("show", name, "--home", str(corpus_home), "--json", check=True).stdout)
    for key in ("sha256", "doc_type", "title", "date", "issuer", "n_pages"):
        assert shown[key] == parsed[key], key
    assert [p["blocks"] for p in shown["pages"]] == [p["blocks"] for p in parsed["pages"]]
    page = json.loads(run_cli("show", name, "--home", str(corpus_home), "--page", "2", "--json", check=True).stdout)
    assert [p["number"] for p in page["pages"]] == [2]


def test_a_failing_write_leaves_no_half_document(tmp_path, monkeypatch):
    from textmine.parse import parse_file
    from textmine.store import Store

    store = Store(tmp_path / "home")
    doc = parse_file(DOCUMENTS / "lst-orebro-2022-rapport.pdf")
    real_db = store.db

    class Exploding:
        """Passes everything through, but the block insert dies half-way."""

        def __getattr__(self, name):
            return getattr(real_db, name)

        def executemany(self, sql, rows):
            if "INSERT INTO blocks" in sql:
                rows = list(rows)
                real_db.executemany(sql, rows[: len(rows) // 2])
                raise sqlite3.OperationalError("disk I/O error (simulated)")
            return real_db.executemany(sql, rows)

    store.db = Exploding()
    with pytest.raises(sqlite3.OperationalError):
        store.add_document(doc)
    store.db = real_db
    assert store.stats() == {"documents": 0, "pages": 0, "ocr_pages": 0, "blocks": 0, "entities": 0, "passages": 0, "failures": 0}
    store.add_document(doc)
    assert store.stats()["documents"] == 1


def test_killed_ingest_leaves_whole_documents_and_rerun_completes(tmp_path, truth):
    home = tmp_path / "home"
    folder = tmp_path / "in"
    folder.mkdir()
    pdfs = sorted(p for p in DOCUMENTS.glob("*.pdf") if "scan" not in p.name)[:20]
    for p in pdfs:
        shutil.copy(p, folder)
    proc = subprocess.Popen(
        TEXTMINE + ["ingest", str(folder), "--home", str(home), "--jobs", "1", "--no-index"],
        cwd=str(ROOT), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    # wait for a few documents to be stored, then kill hard (no chance to clean up)
    seen = 0
    deadline = time.time() + 120
    while seen < 3 and time.time() < deadline:
        line = proc.stderr.readline()
        if line.startswith("["):
            seen += 1
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    db = sqlite3.connect(home / "textmine.sqlite")
    stored = db.execute("SELECT id, n_pages FROM documents").fetchall()
    assert 0 < len(stored) < len(pdfs)
    for doc_id, n_pages in stored:
        assert db.execute("SELECT COUNT(*) FROM pages WHERE doc_id=?", (doc_id,)).fetchone()[0] == n_pages
        assert db.execute("SELECT COUNT(*) FROM blocks WHERE doc_id=?", (doc_id,)).fetchone()[0] > 0
    db.close()

    summary = json.loads(run_cli("ingest", str(folder), "--home", str(home), "--json", "--no-index", check=True).stdout)
    assert summary["skipped"] == len(stored)
    assert summary["ingested"] == len(pdfs) - len(stored)


def test_progress_and_summary_on_stderr(tmp_path):
    home = tmp_path / "home"
    proc = run_cli("ingest", str(DOCUMENTS / "hfd-2019-2261-19.pdf"), str(DOCUMENTS / "rr-2010-not-12.pdf"), "--home", str(home), "--no-index", check=True)
    assert "pages/s" in proc.stderr and "ETA" in proc.stderr and "[2/2]" in proc.stderr
    assert proc.stdout.startswith("ingested 2 documents")


def test_home_from_environment(tmp_path):
    home = tmp_path / "envhome"
    run_cli("ingest", str(DOCUMENTS / "rr-2010-not-12.pdf"), "--no-index", env={"TEXTMINE_HOME": str(home)}, check=True)
    assert (home / "textmine.sqlite").exists()
    docs = json.loads(run_cli("docs", "--json", env={"TEXTMINE_HOME": str(home)}, check=True).stdout)
    assert len(docs) == 1
    removed = json.loads(run_cli("remove", "rr-2010-not-12.pdf", "--json", env={"TEXTMINE_HOME": str(home)}, check=True).stdout)
    assert removed["removed"] == docs[0]["id"]
    assert json.loads(run_cli("docs", "--json", env={"TEXTMINE_HOME": str(home)}, check=True).stdout) == []
