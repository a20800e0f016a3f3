"""chunk: stored blocks -> passages, the unit of search. A passage is a few sentences to
a few paragraphs (about 80-300 words) of one document, with its heading path as
context, its page(s) and the character spans of the blocks it covers.

Rules: a heading closes the passage before it (sections are not mixed); quotes and
tables are passages of their own (kept whole; a long table is split by rows with its
header row repeated); a paragraph longer than the limit is split at sentence ends;
footnotes travel with the passage that holds their mark (or, unattached, form a
passage of their own). The passage id is derived from the document's sha256 and the
passage's first block, so it is stable as long as the document and the rules are."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from .models import Document

MIN_WORDS = 80
MAX_WORDS = 300
CHUNKER_VERSION = 1
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9”\"(])")


@dataclass
class Span:
    page: int
    block: int  # index of the block on its page
    start: int
    end: int


@dataclass
class Passage:
    passage_id: str
    doc_id: int | None
    seq: int
    page_start: int
    page_end: int
    kind: str  # text | quote | table | footnotes
    heading_path: list[str]
    text: str
    spans: list[Span] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)

    @property
    def n_words(self) -> int:
        return len(self.text.split())

    def context_text(self) -> str:
        """What is embedded and indexed: the nearest headings, the text, its footnotes."""
        head = " > ".join(self.heading_path[-2:])
        parts = [head, self.text] if head else [self.text]
        if self.footnotes:
            parts.append(" ".join(self.footnotes))
        return "\n".join(parts)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.context_text().encode("utf-8")).hexdigest()


def _words(text: str) -> int:
    return len(text.split())


def build_passages(doc: Document) -> list[Passage]:
    """Cut a document into passages (see the module docstring for the rules)."""
    out: list[Passage] = []
    headings: list[tuple[int, str]] = []  # (level, "2.2.1 Title")
    current: list[tuple[int, int, str, str]] = []  # (page, block index, kind, text)
    notes_by_ref: dict[tuple[int, str], str] = {}  # (page of mark, number) -> footnote text
    used_notes: set[tuple[int, str]] = set()

    for page in doc.pages:
        for b in page.blocks:
            if b.kind == "footnote" and b.number:
                notes_by_ref[(b.ref_page or page.number, b.number)] = b.text

    def heading_path() -> list[str]:
        return [t for _, t in headings]

    def emit(items: list[tuple[int, int, str, str]], kind: str) -> None:
        if not items:
            return
        text = "\n".join(t for _, _, _, t in items).strip()
        if not text:
            return
        spans = []
        for p, i, _, t in items:
            full = doc.pages[p - 1].blocks[i].text
            start = full.find(t) if t != full else 0
            start = max(start, 0)
            spans.append(Span(p, i, start, start + len(t)))
        notes = []
        for p, i, _, _ in items:
            block = doc.pages[p - 1].blocks[i]
            for r in block.refs:
                key = (p, str(r.number))
                if key in notes_by_ref and key not in used_notes:
                    notes.append(f"[{r.number}] {notes_by_ref[key]}")
                    used_notes.add(key)
        first_page, first_block = items[0][0], items[0][1]
        pid = _passage_id(doc.sha256, first_page, first_block, len(out))
        out.append(
            Passage(
                passage_id=pid, doc_id=doc.id, seq=len(out), page_start=items[0][0], page_end=items[-1][0],
                kind=kind, heading_path=heading_path(), text=text, spans=spans, footnotes=notes,
            )
        )

    def flush() -> None:
        nonlocal current
        emit(current, "text")
        current = []

    for page in doc.pages:
        for i, b in enumerate(page.blocks):
            if b.kind in ("header", "footer", "footnote") or not b.text.strip():
                continue
            if b.kind == "heading":
                level = b.level or 1
                if current and level > 1 and sum(_words(t) for _, _, _, t in current) < 40:
                    # short sections (a ruling's KLAGANDE / MOTPART / SAKEN) go together:
                    # the heading stays in the text as a line of its own
                    current.append((page.number, i, "heading", b.text))
                else:
                    flush()
                while headings and headings[-1][0] >= level:
                    headings.pop()
                headings.append((level, f"{b.number} {b.text}" if b.number else b.text))
                continue
            if b.kind == "quote":
                flush()
                emit([(page.number, i, "quote", b.text)], "quote")
                continue
            if b.kind == "table":
                flush()
                for chunk in _table_chunks(b.text):
                    emit([(page.number, i, "table", chunk)], "table")
                continue
            words = _words(b.text)
            if words > MAX_WORDS:
                flush()
                for piece in _split_sentences(b.text, MAX_WORDS):
                    emit([(page.number, i, b.kind, piece)], "text")
                continue
            size = sum(_words(t) for _, _, _, t in current)
            if current and size >= MIN_WORDS and size + words > MAX_WORDS:
                flush()
            current.append((page.number, i, b.kind, b.text))
            if sum(_words(t) for _, _, _, t in current) >= MAX_WORDS:
                flush()
    flush()
    # footnotes whose mark was not found (or whose passage is gone) still count
    leftovers: dict[int, list[tuple[int, str]]] = {}
    for page in doc.pages:
        for i, b in enumerate(page.blocks):
            if b.kind == "footnote" and b.number and ((b.ref_page or page.number), b.number) not in used_notes:
                leftovers.setdefault(page.number, []).append((i, f"[{b.number}] {b.text}"))
    for page_number, notes in leftovers.items():
        items = [(page_number, i, "footnote", t) for i, t in notes]
        emit(items, "footnotes")
    return out


def _passage_id(sha256: str, page: int, block: int, seq: int) -> str:
    digest = hashlib.sha256(f"{sha256}:{CHUNKER_VERSION}:{page}:{block}:{seq}".encode()).hexdigest()
    return f"{sha256[:8]}-{digest[:8]}"


def _split_sentences(text: str, limit: int) -> list[str]:
    sentences = SENTENCE_END.split(text)
    pieces, current = [], []
    for s in sentences:
        if current and _words(" ".join(current)) + _words(s) > limit * 0.7:
            pieces.append(" ".join(current))
            current = []
        current.append(s)
    if current:
        pieces.append(" ".join(current))
    return pieces


def _table_chunks(text: str) -> list[str]:
    rows = text.split("\n")
    if _words(text) <= MAX_WORDS or len(rows) < 3:
        return [text]
    header, chunks, current = rows[0], [], []
    for row in rows[1:]:
        if current and _words("\n".join([header] + current + [row])) > MAX_WORDS:
            chunks.append("\n".join([header] + current))
            current = []
        current.append(row)
    if current:
        chunks.append("\n".join([header] + current))
    return chunks
