"""Layout analysis: typed lines of every page -> Pages of Blocks.

Works on the whole document at once because the strongest signals are document-wide:
the body font size, running headers that repeat from page to page, the font sizes of
numbered headings (which tell the level of unnumbered ones), and footnote numbering
that runs through the document."""

from __future__ import annotations

import re
from collections import Counter
from statistics import median

from ..models import Block, FootnoteRef, Page
from .lines import BULLETS, SOFT_HYPHEN, Line, Mark
from .pdf import RawPage

HEADING_NUMBER_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+(?=[A-ZÅÄÖÉÜ\"”'(«])(.*\S)\s*$")
PAGE_NUMBER_RE = re.compile(
    r"^\W*(?:sida|s\.|page)?\s*\d{1,4}\s*(?:(?:\(|av|of|/)\s*\d{1,4}\s*\)?)?\W*$", re.IGNORECASE
)
LIST_NUMBER_RE = re.compile(r"^(\d{1,2}[.)]|[a-zåäö][.)]|\(\d{1,2}\)|\([a-zåäö]\))\s+\S")
FOOTNOTE_START_RE = re.compile(r"^(\d{1,3})[.)]?\s+(\S.*)$")
# Words after a line-end hyphen that show the hyphen is a real one ("social- och
# arbetsmarknadsnämnden"), not a word broken over two lines.
CONJUNCTIONS = {"och", "eller", "samt", "respektive", "resp.", "som", "till", "med", "utan", "men"}
QUOTE_OPEN = ("”", '"', "“", "»", "„", "'", "’")


def layout_document(raw_pages: list[RawPage]) -> list[Page]:
    """Turn the raw lines of all pages into Pages with typed blocks."""
    body = BodyStats.measure(raw_pages)
    running = find_running_lines(raw_pages, body)
    pages: list[Page] = []
    for raw in raw_pages:
        page = Page(number=raw.number, ocr=raw.ocr, width=raw.width, height=raw.height)
        header, footer, rest = split_running(raw, running, body)
        rest, table_blocks = take_tables(rest, raw.tables or [])
        rest, notes = split_footnotes(rest, raw, body)
        blocks = segment_body(rest, body)
        blocks = merge_tables(blocks, table_blocks)
        page.blocks = (
            [Block("header", l.text, bbox=_bbox([l])) for l in header]
            + blocks
            + segment_footnotes(notes)
            + [Block("footer", l.text, bbox=_bbox([l])) for l in footer]
        )
        pages.append(page)
    assign_heading_levels(pages)
    link_footnotes(pages)
    mark_interview_quotes(pages)
    return pages


class BodyStats:
    """Typography of the running text of a document."""

    def __init__(self, size: float, left: float, right: float, pitch: float):
        self.size = size
        self.left = left
        self.right = right
        self.pitch = pitch

    @classmethod
    def measure(cls, raw_pages: list[RawPage]) -> "BodyStats":
        sizes: Counter = Counter()
        for raw in raw_pages:
            for line in raw.lines:
                sizes[round(line.size * 2) / 2] += len(line.text)
        size = sizes.most_common(1)[0][0] if sizes else 11.0
        lefts: Counter = Counter()
        rights = []
        pitches = []
        for raw in raw_pages:
            body_lines = [l for l in raw.lines if abs(l.size - size) <= 0.6]
            for l in body_lines:
                lefts[round(l.x0)] += 1
                rights.append(l.x1)
            for a, b in zip(body_lines, body_lines[1:]):
                d = b.top - a.top
                if 0.8 * size < d < 2.0 * size:
                    pitches.append(d)
        left = lefts.most_common(1)[0][0] if lefts else 70.0
        right = sorted(rights)[int(0.9 * (len(rights) - 1))] if rights else 520.0
        pitch = median(pitches) if pitches else size * 1.3
        return cls(size, left, right, pitch)


def _norm_running(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def _running_key(line: Line) -> tuple[str, int]:
    # same text at the same height: a footnote that happens to repeat is not a header
    return _norm_running(line.text), round(line.top / 8)


def find_running_lines(raw_pages: list[RawPage], body: BodyStats) -> set[tuple[str, int]]:
    """Keys of lines that repeat in the top or bottom margin of several pages."""
    counts: Counter = Counter()
    for raw in raw_pages:
        seen = set()
        for line in _margin_candidates(raw):
            key = _running_key(line)
            if key not in seen:
                counts[key] += 1
                seen.add(key)
    n = len(raw_pages)
    need = 2 if n <= 6 else max(2, int(0.2 * n))
    return {k for k, c in counts.items() if c >= need}


def _margin_candidates(raw: RawPage) -> list[Line]:
    """Lines in the top or bottom margin that stand apart from the text next to them
    (a footnote's last line at the page bottom hangs on the line above: not a footer)."""
    lines = raw.lines
    top: list[Line] = []
    for i, line in enumerate(lines[:3]):
        if line.top >= 0.11 * raw.height:
            break
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if nxt is None or nxt.top - line.bottom > 0.8 * line.size:
            top = lines[: i + 1]
    bottom: list[Line] = []
    start = max(len(lines) - 3, 0)
    for i in range(start, len(lines)):
        line = lines[i]
        if line.top <= 0.89 * raw.height:
            continue
        prev = lines[i - 1] if i > 0 else None
        if prev is None or line.top - prev.bottom > 0.8 * line.size:
            bottom = lines[i:]
            break
    return top + bottom


def split_running(raw: RawPage, running: set[str], body: BodyStats):
    """Separate running header and footer lines (and page numbers) from the rest."""
    header, footer = [], []
    keep = []
    candidates = {id(l) for l in _margin_candidates(raw)}
    for line in raw.lines:
        if id(line) in candidates and _is_running(line, raw, running, body):
            (header if line.top < raw.height / 2 else footer).append(line)
        else:
            keep.append(line)
    return header, footer, keep


def _is_running(line: Line, raw: RawPage, running: set[str], body: BodyStats) -> bool:
    if _running_key(line) in running:
        return True
    if PAGE_NUMBER_RE.match(line.text):
        return True
    # A small line at the very edge of the page, standing apart from the body.
    extreme = line.top < 0.07 * raw.height or line.bottom > 0.95 * raw.height
    return extreme and line.size < body.size * 0.9 and len(line.text) < 120


def take_tables(lines: list[Line], tables: list[dict]):
    """Remove the lines that lie inside ruled tables; return them as table blocks."""
    if not tables:
        return lines, []
    blocks = []
    inside = set()
    for t in tables:
        x0, top, x1, bottom = t["bbox"]
        for line in lines:
            cx = (line.x0 + line.x1) / 2
            if top - 1 <= line.center <= bottom + 1 and x0 - 2 <= cx <= x1 + 2:
                inside.add(id(line))
        text = "\n".join(" | ".join(cell for cell in row) for row in t["rows"])
        blocks.append(Block("table", text, rows=t["rows"], bbox=(x0, top, x1, bottom)))
    return [l for l in lines if id(l) not in inside], blocks


def merge_tables(blocks: list[Block], tables: list[Block]) -> list[Block]:
    """Put table blocks back in reading order by their top position."""
    if not tables:
        return blocks
    out = list(blocks)
    for t in tables:
        pos = len(out)
        for i, b in enumerate(out):
            if b.bbox and b.bbox[1] > t.bbox[1]:
                pos = i
                break
        out.insert(pos, t)
    return out


def _starts_footnote(line: Line) -> int | None:
    if line.leading_mark is not None:
        return line.leading_mark
    m = FOOTNOTE_START_RE.match(line.text)
    if m and not HEADING_NUMBER_RE.match(line.text) or (m and line.size < 10):
        return int(m.group(1))
    return None


def split_footnotes(lines: list[Line], raw: RawPage, body: BodyStats):
    """Footnotes: the run of small-font lines at the bottom of the page whose first line
    starts with a footnote number (as superscript or as plain digits)."""
    if not lines:
        return lines, []
    i = len(lines)
    small = body.size * 0.9
    while i > 0 and lines[i - 1].size < small and lines[i - 1].top > raw.height * 0.35:
        i -= 1
    zone = lines[i:]
    # trim from the top until a line that starts a footnote
    while zone and _starts_footnote(zone[0]) is None:
        zone = zone[1:]
    if not zone:
        return lines, []
    cut = len(lines) - len(zone)
    # The zone must stand apart: a gap or a separator rule above it.
    if cut > 0:
        gap = zone[0].top - lines[cut - 1].bottom
        rule_between = any(
            lines[cut - 1].bottom - 1 <= y <= zone[0].top + 1 for (_, _, y) in (raw.rules or [])
        )
        if gap < 0.5 * body.size and not rule_between:
            return lines, []
    return lines[:cut], zone


def segment_footnotes(lines: list[Line]) -> list[Block]:
    notes: list[Block] = []
    current: list[Line] = []
    number = None
    expected = None
    for line in lines:
        n = _starts_footnote(line)
        if n is not None and (expected is None or n == expected or not current):
            if current:
                notes.append(_footnote_block(number, current))
            current = [line]
            number = n
            expected = n + 1
        else:
            current.append(line)
    if current:
        notes.append(_footnote_block(number, current))
    return notes


def _footnote_block(number: int | None, lines: list[Line]) -> Block:
    first = lines[0]
    text, _ = join_lines([first.text] + [l.text for l in lines[1:]], [[]] * len(lines))
    if first.leading_mark is None:
        m = FOOTNOTE_START_RE.match(text)
        if m:
            text = m.group(2)
    return Block("footnote", text.strip(), number=str(number) if number is not None else None, bbox=_bbox(lines))


def _line_kind(line: Line, body: BodyStats) -> str:
    text = line.text
    if (line.bold or line.size >= body.size * 1.12) and line.size >= body.size * 0.95 and len(text) <= 160:
        return "heading"
    if text[:1] in BULLETS and (len(text) > 1 and text[1] == " " or text[:1] in "•◦▪■●‣∙"):
        return "list_start"
    if LIST_NUMBER_RE.match(text):  # "1. ..." in body type is a list, "1 Parter" in bold a heading
        return "list_start"
    indented = line.x0 > body.left + 12
    if line.italic and indented:
        return "quote"
    return "text"


def segment_body(lines: list[Line], body: BodyStats) -> list[Block]:
    """Group body lines into headings, paragraphs, list items and quotes."""
    groups: list[tuple[str, list[Line]]] = []
    for line in lines:
        kind = _line_kind(line, body)
        if groups:
            gkind, glines = groups[-1]
            prev = glines[-1]
            gap = line.top - prev.bottom
            if _continues(gkind, glines, prev, line, kind, gap, body):
                glines.append(line)
                continue
        start_kind = {"list_start": "list_item", "text": "paragraph"}.get(kind, kind)
        groups.append((start_kind, [line]))
    blocks = []
    for kind, glines in groups:
        blocks.extend(_group_blocks(kind, glines, body))
    return blocks


def _continues(gkind: str, glines: list[Line], prev: Line, line: Line, kind: str, gap: float, body: BodyStats) -> bool:
    big_gap = gap > max(0.6 * body.size, (body.pitch - (prev.bottom - prev.top)) * 1.9 + 1.5)
    if big_gap:
        return False
    if gkind == "heading":
        return (
            kind == "heading"
            and abs(line.size - prev.size) < 0.6
            and line.bold == prev.bold
            and len(glines) < 3
            and not HEADING_NUMBER_RE.match(line.text)
            and gap < (1.0 if line.ocr else 0.8) * line.size
        )
    if kind in ("heading", "list_start"):
        return False
    if gkind == "quote":
        return kind == "quote" or (line.italic and line.x0 > body.left + 5)
    if kind == "quote":
        return False
    if gkind == "list_item":
        # continuation lines hang under the item's text, never at the left margin
        return line.x0 > glines[0].x0 + 3
    # paragraph: a first-line indent starts a new paragraph in layouts without spacing
    if line.x0 > body.left + 8 and prev.x0 <= body.left + 3 and prev.x1 < body.right - 40:
        return False
    if abs(line.size - prev.size) > 1.5:
        return False
    return True


def _group_blocks(kind: str, lines: list[Line], body: BodyStats) -> list[Block]:
    texts = [l.text for l in lines]
    marks = [l.marks for l in lines]
    # A line that stops short of the right margin although the next line's first word
    # would have fitted is a deliberate break (addresses, the lines of a ruling's header
    # box, signatures): keep it as a newline.
    breaks = [False] * len(lines)
    if kind == "paragraph":
        for i, (line, nxt) in enumerate(zip(lines, lines[1:])):
            words = nxt.text.split()
            room = max(body.right, line.x1) - line.x1
            breaks[i] = bool(words) and room > (len(words[0]) * 0.55 + 0.5) * line.size
    text, refs = join_lines(texts, marks, breaks)
    if kind == "heading":
        ends_like_sentence = text.endswith(".") and len(text.split()) > 12
        if ends_like_sentence or len(lines) > 3:
            kind = "paragraph"
    block = Block(kind, text, refs=refs, bbox=_bbox(lines), size=lines[0].size)
    if kind == "heading":
        m = HEADING_NUMBER_RE.match(text)
        if m:
            block.number = m.group(1)
            block.level = block.number.count(".") + 1
            cut = m.start(2)
            block.text = text[cut:]
            block.refs = [FootnoteRef(r.number, max(0, r.offset - cut)) for r in refs]
    elif kind == "list_item":
        stripped = text.lstrip()
        if stripped[:1] in BULLETS and stripped[:1] not in "-–*" or stripped.startswith(("- ", "– ", "* ")):
            cut = len(text) - len(stripped) + 1
            while cut < len(text) and text[cut] == " ":
                cut += 1
            block.text = text[cut:]
            block.refs = [FootnoteRef(r.number, max(0, r.offset - cut)) for r in refs]
    return [block]


def join_lines(texts: list[str], marks: list[list[Mark]], breaks: list[bool] | None = None) -> tuple[str, list[FootnoteRef]]:
    """Join the lines of a block: words broken at line end are mended
    ("bostads-" + "marknaden" -> "bostadsmarknaden"), real dashes are kept
    ("social- och ...", "EU-länder"), soft hyphens vanish."""
    out = ""
    refs: list[FootnoteRef] = []
    for i, (text, line_marks) in enumerate(zip(texts, marks)):
        if i == 0:
            base = 0
            out = text
        else:
            joiner, out = _join_point(out, text)
            if joiner == " " and breaks and breaks[i - 1]:
                joiner = "\n"
            out += joiner
            base = len(out)
            out += text
        for m in line_marks:
            refs.append(FootnoteRef(m.number, base + m.offset))
    if SOFT_HYPHEN in out:
        # shift refs left for every soft hyphen removed before them
        positions = [i for i, ch in enumerate(out) if ch == SOFT_HYPHEN]
        refs = [FootnoteRef(r.number, r.offset - sum(1 for p in positions if p < r.offset)) for r in refs]
        out = out.replace(SOFT_HYPHEN, "")
    refs = [FootnoteRef(r.number, min(max(r.offset, 0), len(out))) for r in refs]
    return out, refs


def _join_point(out: str, nxt: str) -> tuple[str, str]:
    """Return (joiner, possibly shortened out) for appending the next line."""
    if out.endswith(SOFT_HYPHEN):
        return "", out[:-1]
    if len(out) >= 2 and out.endswith("-") and out[-2].isalnum():
        first = nxt.split()[0].lower() if nxt.split() else ""
        if out[-2].isupper() or out[-2].isdigit() or nxt[:1].isupper() or nxt[:1].isdigit():
            return "", out  # "EU-" + "länder", "2019-" + "2020"
        if first.rstrip(",.") in CONJUNCTIONS:
            return " ", out  # "social- och arbetsmarknadsnämnden"
        if out[-2].isalpha() and nxt[:1].islower():
            return "", out[:-1]  # "bostads-" + "marknaden"
        return "", out
    return " ", out


def _bbox(lines: list[Line]):
    return (min(l.x0 for l in lines), min(l.top for l in lines), max(l.x1 for l in lines), max(l.bottom for l in lines))


def assign_heading_levels(pages: list[Page]) -> None:
    """Unnumbered headings get the level of numbered headings of the same size."""
    by_level: dict[int, list[float]] = {}
    headings = [b for p in pages for b in p.blocks if b.kind == "heading"]
    for b in headings:
        if b.level is not None and b.size is not None:
            by_level.setdefault(b.level, []).append(b.size)
    level_size = {lvl: median(s) for lvl, s in by_level.items()}
    sizes_desc = sorted({round(b.size or 0, 1) for b in headings}, reverse=True)
    for b in headings:
        size = b.size
        if b.level is None:
            if level_size and size is not None:
                top = max(level_size.values())
                if size > top + 0.5:
                    b.level = 1
                else:
                    b.level = min(level_size, key=lambda lvl: (abs(level_size[lvl] - size), -lvl))
            elif size is not None:
                b.level = min(sizes_desc.index(round(size, 1)) + 1, 4)
            else:
                b.level = 1


def link_footnotes(pages: list[Page]) -> None:
    """Keep only marks that have a footnote, and tell each footnote where its mark is."""
    note_pages: dict[int, list[tuple[int, Block]]] = {}
    for p in pages:
        for b in p.blocks:
            if b.kind == "footnote" and b.number and b.number.isdigit():
                note_pages.setdefault(int(b.number), []).append((p.number, b))
    for p in pages:
        for b in p.blocks:
            if not b.refs:
                continue
            kept = []
            for r in b.refs:
                candidates = note_pages.get(r.number, [])
                # the footnote is on the mark's page, or on the next (long footnotes spill over)
                match = [nb for pn, nb in candidates if pn in (p.number, p.number + 1)]
                if match:
                    kept.append(r)
                    for nb in match:
                        if nb.ref_page is None:
                            nb.ref_page = p.number
            b.refs = kept


INTERVIEW_NOTE_RE = re.compile(r"^(intervju|samtal|fokusgrupp|citat)", re.IGNORECASE)
_IBID_RE = re.compile(r"^\s*(ibid|ibidem|dito|a\.\s?a)\.?\s*$", re.IGNORECASE)


def mark_interview_quotes(pages: list[Page]) -> None:
    """A paragraph in quotation marks, or one whose only footnote says it comes from an
    interview ("Intervju med företrädare för ..."), is a quote."""
    notes = {}
    for p in pages:
        for b in p.blocks:
            if b.kind == "footnote" and b.number:
                notes.setdefault((b.ref_page or p.number, b.number), b)
    for p in pages:
        for b in p.blocks:
            if b.kind != "paragraph":
                continue
            text = b.text.strip()
            if text[:1] in QUOTE_OPEN and text.rstrip(".").endswith(("”", '"', "“", "»")) and len(text) > 30:
                b.kind = "quote"
                continue
            if len(b.refs) == 1 and b.refs[0].offset >= len(text) - 2:
                number = str(b.refs[0].number)
                note = notes.get((p.number, number))
                if note and _IBID_RE.match(note.text) and number.isdigit():
                    # "Ibid." repeats the footnote before it: the same interview
                    note = next((n for (_, num), n in notes.items() if num == str(int(number) - 1)), None)
                if note and INTERVIEW_NOTE_RE.match(note.text.strip()):
                    b.kind = "quote"
