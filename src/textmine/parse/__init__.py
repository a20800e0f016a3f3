"""parse: a file (PDF, Word, text) -> Document with pages and typed blocks.

Entry point: `parse_file(path)`. The format is decided by the file's content, not
its name, so a renamed file gets a clear error instead of garbage."""

from __future__ import annotations

import hashlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..errors import ParseError, UnsupportedFile
from ..models import Document
from .metadata import infer_metadata

SUFFIXES = {".pdf": "pdf", ".docx": "docx", ".txt": "txt"}
# Below this many pages a second process costs more than it saves.
PARALLEL_MIN_PAGES = 12


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFile(f"unsupported file type {suffix or '(none)'}: textmine reads .pdf, .docx and .txt")
    return SUFFIXES[suffix]


def parse_file(path: str | Path, *, ocr: str = "auto", jobs: int = 1) -> Document:
    """Parse one file into a Document (not stored). Raises ParseError with a one-line
    message for anything that is not a readable document."""
    path = Path(path)
    if not path.exists():
        raise ParseError(f"no such file: {path}")
    if not path.is_file():
        raise ParseError(f"not a file: {path}")
    fmt = detect_format(path)
    sha = file_sha256(path)
    if fmt == "pdf":
        pages = _parse_pdf(path, ocr=ocr, jobs=jobs)
    elif fmt == "docx":
        from .docx import read_docx

        pages = read_docx(path)
    else:
        from .text import read_text

        pages = read_text(path)
    doc = Document(path=str(path), sha256=sha, format=fmt, pages=pages)
    if not any(b.text.strip() for p in pages for b in p.blocks):
        raise ParseError("no text found in the document (not even by OCR)")
    infer_metadata(doc)
    return doc


def _parse_pdf(path: Path, *, ocr: str, jobs: int):
    from .layout import layout_document
    from .pdf import pdf_page_count, read_pdf

    n = pdf_page_count(path)
    if jobs > 1 and n >= PARALLEL_MIN_PAGES:
        chunks = [list(range(i, n + 1, jobs)) for i in range(1, jobs + 1)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            parts = list(pool.map(_read_chunk, [(path, c, ocr) for c in chunks]))
        raw = sorted((p for part in parts for p in part), key=lambda p: p.number)
    else:
        raw = read_pdf(path, ocr=ocr)
    errors = [p.error for p in raw if p.error]
    if errors and len(errors) == len(raw):
        raise ParseError(errors[0])
    return layout_document(raw)


def _read_chunk(args):
    from .pdf import read_pdf

    path, numbers, ocr = args
    return read_pdf(path, ocr=ocr, page_numbers=numbers)
