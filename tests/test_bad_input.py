"""Bad input is a feature: every broken file gets a one-line reason, the batch goes on,
nothing stored is lost, and `textmine parse` exits non-zero without a traceback."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import DOCUMENTS, run_cli

GOOD = ["kr-stockholm-2019-8812-18.pdf", "fr-malmo-2021-6543-21.docx"]


def make_bad_files(folder: Path) -> dict[str, str]:
    """Write one file per kind of bad input; return {file name: expected words in the error}."""
    from pypdf import PdfWriter

    expected = {}
    (folder / "not-a-pdf.pdf").write_text("Detta är ingen PDF utan vanlig text.\n", encoding="utf-8")
    expected["not-a-pdf.pdf"] = "not a PDF"
    data = (DOCUMENTS / "kr-stockholm-2019-8812-18.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 3])
    expected["truncated.pdf"] = "PDF"
    (folder / "empty.pdf").write_bytes(b"")
    expected["empty.pdf"] = "empty file"
    writer = PdfWriter()
    writer.append(str(DOCUMENTS / "kr-stockholm-2019-8812-18.pdf"))
    writer.encrypt(user_password="hemligt", owner_password="hemligt")
    with open(folder / "password.pdf", "wb") as fh:
        writer.write(fh)
    expected["password.pdf"] = "password"
    buf = io.BytesIO()
    PdfWriter().write(buf)
    (folder / "zero-pages.pdf").write_bytes(buf.getvalue())
    expected["zero-pages.pdf"] = "no pages"
    huge = PdfWriter()
    huge.add_blank_page(width=20000, height=20000)
    with open(folder / "huge-page.pdf", "wb") as fh:
        huge.write(fh)
    expected["huge-page.pdf"] = "too large"
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    expected["broken.docx"] = ".docx"
    with zipfile.ZipFile(folder / "no-document.docx", "w") as z:
        z.writestr("hello.txt", "hej")
    expected["no-document.docx"] = "word/document.xml"
    (folder / "empty.txt").write_bytes(b"")
    expected["empty.txt"] = "empty file"
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    expected["binary.txt"] = "binary"
    return expected


@pytest.fixture()
def bad_folder(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    expected = make_bad_files(folder)
    for name in GOOD:
        shutil.copy(DOCUMENTS / name, folder / name)
    return folder, expected


def test_parse_bad_files_one_line_error(bad_folder):
    folder, expected = bad_folder
    for name, words in expected.items():
        proc = run_cli("parse", str(folder / name), "--json")
        assert proc.returncode != 0, name
        assert proc.stdout == "", name
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, (name, proc.stderr)
        assert lines[0].startswith("error: "), (name, lines)
        assert words.lower() in lines[0].lower(), (name, lines[0])
        assert "Traceback" not in proc.stderr


def test_ingest_batch_goes_on_and_failures_are_listed(bad_folder, tmp_path):
    folder, expected = bad_folder
    home = tmp_path / "home"
    first = run_cli("ingest", str(DOCUMENTS / "hfd-2019-2261-19.pdf"), "--home", str(home), "--json", "--no-index", check=True)
    assert json.loads(first.stdout)["ingested"] == 1

    proc = run_cli("ingest", str(folder), "--home", str(home), "--json", "--no-index")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ingested"] == len(GOOD)
    assert summary["failed"] == len(expected)
    reasons = {Path(f["path"]).name: f["reason"] for f in summary["files"] if f["status"] == "failed"}
    for name, words in expected.items():
        assert words.lower() in reasons[name].lower(), (name, reasons[name])
        assert "\n" not in reasons[name]

    failures = json.loads(run_cli("failures", "--home", str(home), "--json", check=True).stdout)
    assert {Path(f["path"]).name for f in failures} == set(expected)
    human = run_cli("failures", "--home", str(home), check=True).stdout.strip().splitlines()
    assert len(human) == len(expected)

    docs = json.loads(run_cli("docs", "--home", str(home), "--json", check=True).stdout)
    names = {Path(d["path"]).name for d in docs}
    assert names == {"hfd-2019-2261-19.pdf", *GOOD}, "what was stored before is still there"

    # --strict turns failures into a non-zero exit, still without a traceback
    strict = run_cli("ingest", str(folder), "--home", str(home), "--strict", "--no-index")
    assert strict.returncode == 1 and "Traceback" not in strict.stderr


def test_fixed_file_leaves_failures(bad_folder, tmp_path):
    folder, _ = bad_folder
    home = tmp_path / "home"
    run_cli("ingest", str(folder / "empty.pdf"), "--home", str(home), "--no-index", check=True)
    assert len(json.loads(run_cli("failures", "--home", str(home), "--json").stdout)) == 1
    shutil.copy(DOCUMENTS / "rr-2010-not-12.pdf", folder / "empty.pdf")
    run_cli("ingest", str(folder / "empty.pdf"), "--home", str(home), "--no-index", check=True)
    assert json.loads(run_cli("failures", "--home", str(home), "--json").stdout) == []


def test_cli_usage_errors_are_one_line(tmp_path):
    for args in (
        ["parse", str(tmp_path / "missing.pdf")],
        ["parse", str(DOCUMENTS / ".." / "README.md")],
        ["show", "999", "--home", str(tmp_path / "nohome")],
        ["docs", "--home", str(tmp_path / "nohome")],
    ):
        proc = run_cli(*args)
        assert proc.returncode != 0, args
        assert len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
