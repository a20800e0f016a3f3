"""The things that travel between the steps of the data flow:
parse -> Document(pages, blocks) -> store -> (later) entities, passages, search hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Block kinds produced by the parsers. header/footer blocks are kept for provenance
# but never count as body text.
BLOCK_KINDS = (
    "heading",
    "paragraph",
    "list_item",
    "footnote",
    "quote",
    "table",
    "header",
    "footer",
)
BODY_KINDS = ("heading", "paragraph", "list_item", "quote", "table")

DOC_TYPES = (
    "court_ruling",
    "county_report",
    "municipal_review",
    "agreement",
    "government_decision",
    "agency_report",
    "press_release",
    "other",
)


@dataclass
class FootnoteRef:
    """A reference mark in body text: footnote `number` sits at `offset` in the block text
    (the mark itself is removed from the text so that search sees clean words)."""

    number: int
    offset: int


@dataclass
class Block:
    kind: str
    text: str
    level: int | None = None  # headings: 1 = chapter
    number: str | None = None  # headings: "2.2.1"; footnotes: "7"
    refs: list[FootnoteRef] = field(default_factory=list)  # footnote marks in this block
    ref_page: int | None = None  # footnotes: page of the block holding the mark
    bbox: tuple[float, float, float, float] | None = None  # x0, top, x1, bottom in PDF points
    rows: list[list[str]] | None = None  # tables: cells row by row
    size: float | None = None  # font size of the first line (layout signal, not stored)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.level is not None:
            out["level"] = self.level
        if self.number is not None:
            out["number"] = self.number
        if self.refs:
            out["footnote_refs"] = [asdict(r) for r in self.refs]
        if self.ref_page is not None:
            out["ref_page"] = self.ref_page
        if self.rows is not None:
            out["rows"] = self.rows
        if self.bbox is not None:
            out["bbox"] = [round(v, 1) for v in self.bbox]
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Block":
        return cls(
            kind=d["kind"],
            text=d["text"],
            level=d.get("level"),
            number=d.get("number"),
            refs=[FootnoteRef(**r) for r in d.get("footnote_refs", [])],
            ref_page=d.get("ref_page"),
            bbox=tuple(d["bbox"]) if d.get("bbox") else None,
            rows=d.get("rows"),
        )


@dataclass
class Entity:
    """A mention of a domain entity in a block: label, the text as written, its canonical
    id (norm), and where: page, block index on the page, character offsets in the block."""

    label: str
    text: str
    norm: str
    page: int
    block: int
    start: int
    end: int
    data: dict | None = None  # PROVISION: {sfs, chapter, sections, stycke}

    def to_json(self) -> dict[str, Any]:
        out = {"label": self.label, "text": self.text, "norm": self.norm, "page": self.page,
               "block": self.block, "start": self.start, "end": self.end}
        if self.data:
            out["parts"] = {k: v for k, v in self.data.items() if k in ("sfs", "chapter", "sections", "stycke") and v}
        return out


@dataclass
class Page:
    number: int  # 1-based, as printed by PDF viewers (not the printed page label)
    blocks: list[Block] = field(default_factory=list)
    ocr: bool = False
    width: float | None = None
    height: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "ocr": self.ocr,
            "blocks": [b.to_json() for b in self.blocks],
        }

    def body_text(self) -> str:
        return "\n\n".join(b.text for b in self.blocks if b.kind in BODY_KINDS)


@dataclass
class Document:
    path: str
    sha256: str
    format: str  # pdf | docx | txt
    pages: list[Page] = field(default_factory=list)
    doc_type: str = "other"
    title: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd
    issuer: str | None = None
    id: int | None = None  # set by the store
    entities: list[Entity] | None = None  # set by nlp.tag_document
    facts: dict | None = None  # derived from entities: municipalities, county, courts, laws, case refs

    @property
    def n_pages(self) -> int:
        return len(self.pages)

    def blocks(self, kinds: tuple[str, ...] | None = None):
        """All blocks in reading order as (page number, block)."""
        for page in self.pages:
            for block in page.blocks:
                if kinds is None or block.kind in kinds:
                    yield page.number, block

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.id is not None:
            out["id"] = self.id
        out.update(
            {
                "path": self.path,
                "sha256": self.sha256,
                "format": self.format,
                "doc_type": self.doc_type,
                "title": self.title,
                "date": self.date,
                "issuer": self.issuer,
                "n_pages": self.n_pages,
            }
        )
        if self.facts is not None:
            out["facts"] = self.facts
        out["pages"] = [p.to_json() for p in self.pages]
        if self.entities is not None:
            out["entities"] = [e.to_json() for e in self.entities]
        return out
