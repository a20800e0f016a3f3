"""ingest: files and folders -> parsed documents in the store.

Idempotent (a file whose content is stored is skipped by sha256), incremental (new
files only), transactional per document (see store.py). Parsing runs in worker
processes, one per core; the main process alone writes to SQLite. A file that
fails gets a one-line reason in the summary and in `textmine failures`; the batch
goes on."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ParseError, TextmineError
from .parse import SUFFIXES, file_sha256, parse_file
from .store import Store


@dataclass
class FileOutcome:
    path: str
    status: str  # ingested | skipped | failed
    doc_id: int | None = None
    pages: int = 0
    reason: str | None = None
    title: str | None = None
    doc_type: str | None = None


@dataclass
class IngestSummary:
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def pages(self) -> int:
        return sum(o.pages for o in self.of("ingested"))

    def to_json(self) -> dict:
        return {
            "ingested": len(self.of("ingested")),
            "skipped": len(self.of("skipped")),
            "failed": len(self.of("failed")),
            "pages": self.pages,
            "seconds": round(self.seconds, 2),
            "pages_per_second": round(self.pages / self.seconds, 1) if self.seconds else None,
            "files": [o.__dict__ for o in self.outcomes],
        }


def collect_files(paths: list[str | Path]) -> tuple[list[Path], list[FileOutcome]]:
    """Files to ingest from files and folders (recursive). A path that does not exist,
    or a file given by name with an unsupported type, is reported, not fatal."""
    files: list[Path] = []
    problems: list[FileOutcome] = []
    seen = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES and not f.name.startswith((".", "~$"))
            )
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                problems.append(FileOutcome(str(p), "failed", reason=f"unsupported file type {p.suffix or '(none)'}: textmine reads .pdf, .docx and .txt"))
                continue
            found = [p]
        else:
            problems.append(FileOutcome(str(p), "failed", reason="no such file or folder"))
            continue
        for f in found:
            # stored by absolute path: the web server links to the original file from
            # whatever folder it runs in
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                files.append(key)
    return files, problems


def _parse_worker(path: str, ocr: str, tag: bool = True):
    """Parse and tag one file (runs in a worker process)."""
    try:
        doc = parse_file(path, ocr=ocr)
        if tag:
            from .nlp import tag_document

            tag_document(doc)
        return doc
    except TextmineError:
        raise
    except MemoryError:
        raise ParseError("out of memory while parsing") from None
    except Exception as exc:  # a library bug on one odd file must not stop the batch
        raise ParseError(f"unexpected parser error ({exc.__class__.__name__}: {' '.join(str(exc).split())[:160]})") from None


class Progress:
    """One line per file on stderr: position, pages/s and an ETA."""

    def __init__(self, total: int, quiet: bool = False):
        self.total = total
        self.done = 0
        self.pages = 0
        self.start = time.monotonic()
        self.quiet = quiet

    def update(self, outcome: FileOutcome) -> None:
        self.done += 1
        self.pages += outcome.pages
        if self.quiet:
            return
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = self.pages / elapsed
        eta = (self.total - self.done) * elapsed / self.done
        name = Path(outcome.path).name
        what = {
            "ingested": f"{outcome.pages} pages",
            "skipped": "skipped (already stored)",
            "failed": f"FAILED: {outcome.reason}",
        }[outcome.status]
        print(
            f"[{self.done}/{self.total}] {name}: {what}  ({rate:.1f} pages/s, ETA {int(eta // 60)}:{int(eta % 60):02d})",
            file=sys.stderr,
            flush=True,
        )


def ingest(store: Store, paths: list[str | Path], *, jobs: int | None = None, ocr: str = "auto", quiet: bool = False) -> IngestSummary:
    started = time.monotonic()
    files, problems = collect_files(paths)
    summary = IngestSummary()
    progress = Progress(len(files) + len(problems), quiet=quiet)
    for outcome in problems:
        store.record_failure(outcome.path, None, outcome.reason)
        summary.outcomes.append(outcome)
        progress.update(outcome)

    todo: list[tuple[Path, str]] = []
    for f in files:
        try:
            sha = file_sha256(f)
        except OSError as exc:
            outcome = FileOutcome(str(f), "failed", reason=f"cannot read the file ({exc.strerror})")
            store.record_failure(str(f), None, outcome.reason)
            summary.outcomes.append(outcome)
            progress.update(outcome)
            continue
        existing = store.has_sha(sha)
        if existing:
            outcome = FileOutcome(str(f), "skipped", doc_id=existing, reason="same content already stored")
            store.clear_failure(str(f))
            summary.outcomes.append(outcome)
            progress.update(outcome)
        else:
            todo.append((f, sha))

    jobs = jobs or max(1, min(os.cpu_count() or 1, 4))
    for path, sha, result in _parse_all(todo, jobs, ocr):
        if isinstance(result, Exception):
            reason = str(result)
            outcome = FileOutcome(str(path), "failed", reason=reason)
            store.record_failure(str(path), sha, reason)
        elif store.has_sha(result.sha256):  # two identical files in one batch
            outcome = FileOutcome(str(path), "skipped", doc_id=store.has_sha(result.sha256), reason="same content already stored")
        else:
            doc_id = store.add_document(result, size_bytes=path.stat().st_size)
            outcome = FileOutcome(str(path), "ingested", doc_id=doc_id, pages=result.n_pages, title=result.title, doc_type=result.doc_type)
        summary.outcomes.append(outcome)
        progress.update(outcome)
    from .rulings import update_cards

    update_cards(store)  # precedent cards of new rulings: read from the stored entities, no model
    from .coding import ensure_starter_codebook

    ensure_starter_codebook(store)  # a new store starts with the project's codebook
    summary.seconds = time.monotonic() - started
    return summary


def _parse_all(todo: list[tuple[Path, str]], jobs: int, ocr: str):
    """Yield (path, sha, Document | ParseError) in input order. A worker that dies
    (segfault in a native library, out of memory) fails only the file it was on."""
    if not todo:
        return
    if jobs <= 1 or len(todo) == 1:
        for path, sha in todo:
            try:
                yield path, sha, _parse_worker(str(path), ocr)
            except TextmineError as exc:
                yield path, sha, exc
        return
    pending = list(todo)
    while pending:
        pool = ProcessPoolExecutor(max_workers=jobs)
        futures = [(path, sha, pool.submit(_parse_worker, str(path), ocr)) for path, sha in pending]
        broken_at = None
        try:
            for i, (path, sha, fut) in enumerate(futures):
                try:
                    yield path, sha, fut.result()
                except TextmineError as exc:
                    yield path, sha, exc
                except BrokenProcessPool:
                    broken_at = i
                    yield path, sha, ParseError("the parser crashed on this file (corrupt or hostile content)")
                    break
        finally:
            pool.shutdown(wait=broken_at is None, cancel_futures=True)
        pending = [(p, s) for p, s, _ in futures[broken_at + 1:]] if broken_at is not None else []
