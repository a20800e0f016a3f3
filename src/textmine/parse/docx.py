"""Word (.docx) files into the same Page/Block model as PDFs. Court rulings often
come as Word files. A .docx has no fixed pages: explicit page breaks start a new
page, so "page" means what the author laid out, not what Word would paginate."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import ParseError, UnsupportedFile
from ..models import Block, FootnoteRef, Page
from .layout import HEADING_NUMBER_RE, mark_interview_quotes
from .lines import clean_char

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
FOOTNOTE_SECTION_RE = re.compile(r"^(fotnoter|noter|slutnoter)$", re.IGNORECASE)
FOOTNOTE_LINE_RE = re.compile(r"^\[?(\d{1,3})\]?[.)]?\s+(\S.*)$")


def check_docx_file(path: Path) -> None:
    if path.stat().st_size == 0:
        raise ParseError("empty file (0 bytes)")
    if not zipfile.is_zipfile(path):
        raise UnsupportedFile("not a .docx: the file is not a zip archive (corrupt or renamed)")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "word/document.xml" not in names:
                raise UnsupportedFile("not a .docx: word/document.xml is missing")
            bad = z.testzip()
            if bad:
                raise ParseError(f"corrupt .docx: damaged member {bad}")
    except zipfile.BadZipFile as exc:
        raise ParseError(f"corrupt .docx ({exc})") from exc


def read_docx(path: Path) -> list[Page]:
    import docx  # python-docx

    check_docx_file(path)
    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise ParseError(f"corrupt .docx ({exc.__class__.__name__}: {' '.join(str(exc).split())[:120]})") from exc

    footnote_texts = _footnotes_part(path)
    pages = [Page(number=1)]
    in_notes_section = False
    for kind, item in _body_items(document):
        page = pages[-1]
        if kind == "table":
            rows = [[" ".join(clean(c.text).split()) for c in _unique_cells(r)] for r in item.rows]
            rows = [r for r in rows if any(r)]
            if rows:
                page.blocks.append(Block("table", "\n".join(" | ".join(r) for r in rows), rows=rows))
            continue
        para = item
        if _has_page_break_before(para) and page.blocks:
            pages.append(Page(number=len(pages) + 1))
            page = pages[-1]
        text, refs = _paragraph_text(para)
        if text.strip():
            block = _classify(para, text, refs)
            if block.kind == "heading" and FOOTNOTE_SECTION_RE.match(block.text.strip()):
                in_notes_section = True
                continue
            if in_notes_section:
                m = FOOTNOTE_LINE_RE.match(text.strip())
                if m:
                    page.blocks.append(Block("footnote", m.group(2), number=m.group(1)))
                    continue
                if block.kind != "heading" and page.blocks and page.blocks[-1].kind == "footnote":
                    page.blocks[-1].text += " " + text.strip()
                    continue
                in_notes_section = block.kind != "heading" and in_notes_section
            page.blocks.append(block)
        if _has_page_break_after(para):
            pages.append(Page(number=len(pages) + 1))
    # Real Word footnotes go to the page of their reference mark.
    if footnote_texts:
        for page in pages:
            refs = [r.number for b in page.blocks for r in b.refs]
            for n in refs:
                if n in footnote_texts:
                    page.blocks.append(Block("footnote", footnote_texts[n], number=str(n), ref_page=page.number))
    _link_footnote_pages(pages)
    _add_running(document, pages)
    pages = [p for p in pages if p.blocks] or [Page(number=1)]
    for i, p in enumerate(pages, 1):
        p.number = i
    if not any(b.text.strip() for p in pages for b in p.blocks):
        raise ParseError("the .docx contains no text")
    mark_interview_quotes(pages)
    return pages


def clean(text: str) -> str:
    return "".join(clean_char(ch) for ch in text).replace("\u00ad", "")


def _body_items(document):
    """Paragraphs and tables in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        if child.tag == W + "p":
            yield "paragraph", Paragraph(child, document)
        elif child.tag == W + "tbl":
            yield "table", Table(child, document)


def _unique_cells(row):
    seen = set()
    for cell in row.cells:  # merged cells repeat
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        yield cell


def _paragraph_text(para) -> tuple[str, list[FootnoteRef]]:
    text = ""
    refs = []
    for run in para._p.iter(W + "r"):
        for child in run:
            if child.tag == W + "t":
                text += clean(child.text or "")
            elif child.tag == W + "tab":
                text += " "
            elif child.tag in (W + "br", W + "cr") and child.get(W + "type") != "page":
                text += " "
            elif child.tag == W + "footnoteReference":
                refs.append(FootnoteRef(int(child.get(W + "id")), len(text)))
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    refs = [FootnoteRef(r.number, max(0, min(r.offset - lead, len(stripped)))) for r in refs]
    return " ".join(stripped.split(" ")) if stripped else "", refs


def _style_chain(para) -> list[str]:
    names = []
    style = para.style
    while style is not None:
        names.append((style.name or "").lower())
        style = style.base_style
    return names


def _classify(para, text: str, refs) -> Block:
    styles = _style_chain(para)
    first = styles[0] if styles else ""
    level = None
    for name in styles:
        m = re.match(r"^(heading|rubrik)\s*(\d)$", name)
        if m:
            level = int(m.group(2))
            break
        if name == "title":
            level = 1
            break
    if level is None:
        outline = para._p.find(f"{W}pPr/{W}outlineLvl")
        if outline is not None:
            level = int(outline.get(W + "val")) + 1
    if level is not None:
        block = Block("heading", text, level=level, refs=refs)
        m = HEADING_NUMBER_RE.match(text)
        if m:
            block.number = m.group(1)
            block.text = text[m.start(2):]
            block.refs = [FootnoteRef(r.number, max(0, r.offset - m.start(2))) for r in refs]
        return block
    if "quote" in first or "citat" in first:
        return Block("quote", text, refs=refs)
    if "list" in first or "lista" in first or para._p.find(f"{W}pPr/{W}numPr") is not None:
        return Block("list_item", text, refs=refs)
    runs = [r for r in para.runs if r.text.strip()]
    if runs and all(r.bold for r in runs) and len(text) < 120 and not text.endswith("."):
        # bold label lines (KLAGANDE, DOMSLUT, SAKEN) act as headings in rulings
        return Block("heading", text, level=3, refs=refs)
    fmt = para.paragraph_format
    indent = (fmt.left_indent or 0) > 300000 and (fmt.right_indent or 0) > 0  # EMU
    if runs and all(r.italic for r in runs) and (indent or (fmt.left_indent or 0) > 300000):
        return Block("quote", text, refs=refs)
    return Block("paragraph", text, refs=refs)


def _has_page_break_before(para) -> bool:
    ppr = para._p.find(f"{W}pPr/{W}pageBreakBefore")
    return ppr is not None and ppr.get(W + "val", "true") not in ("0", "false")


def _has_page_break_after(para) -> bool:
    return any(br.get(W + "type") == "page" for br in para._p.iter(W + "br"))


def _footnotes_part(path: Path) -> dict[int, str]:
    """Text of real Word footnotes (word/footnotes.xml), by id."""
    from lxml import etree

    try:
        with zipfile.ZipFile(path) as z:
            if "word/footnotes.xml" not in z.namelist():
                return {}
            root = etree.fromstring(z.read("word/footnotes.xml"))
    except Exception:
        return {}
    out = {}
    for note in root.iter(W + "footnote"):
        if note.get(W + "type") in ("separator", "continuationSeparator"):
            continue
        text = clean("".join(t.text or "" for t in note.iter(W + "t"))).strip()
        if text:
            out[int(note.get(W + "id"))] = text
    return out


def _link_footnote_pages(pages: list[Page]) -> None:
    where = {}
    for p in pages:
        for b in p.blocks:
            for r in b.refs:
                where.setdefault(r.number, p.number)
    for p in pages:
        for b in p.blocks:
            if b.kind == "footnote" and b.number and b.number.isdigit() and b.ref_page is None:
                b.ref_page = where.get(int(b.number))


def _add_running(document, pages: list[Page]) -> None:
    """Section headers and footers become header/footer blocks of every page."""
    headers, footers = [], []
    for section in document.sections:
        for part, dest in ((section.header, headers), (section.footer, footers)):
            try:
                text = " ".join(clean(p.text).strip() for p in part.paragraphs if p.text.strip())
                for t in part.tables:
                    for row in t.rows:
                        text += " " + " ".join(clean(c.text).strip() for c in _unique_cells(row) if c.text.strip())
            except Exception:
                text = ""
            text = " ".join(text.split())
            if text and text not in dest:
                dest.append(text)
    for page in pages:
        page.blocks = [Block("header", h) for h in headers] + page.blocks + [Block("footer", f) for f in footers]
