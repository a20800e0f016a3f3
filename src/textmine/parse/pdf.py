"""Read a PDF's text layer with pdfplumber into typed lines per page; pages without a
usable text layer go to OCR. Layout (blocks) is done by `layout.py`.

Speed: plain pdfplumber spends about two thirds of its time turning every pdfminer
character into a dict with ~25 resolved attributes (colours, graphic state, marked
content). We only need position, size and font, so `_lean_process_object` builds that
small dict directly; rects and lines still take pdfplumber's normal path because the
table finder needs them. See benchmarks/ingest.py for the measured effect."""

from __future__ import annotations

import logging
from collections import Counter
import os
import types
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParseError, UnsupportedFile
from .lines import SOFT_HYPHEN, Line, Mark, clean_char, font_style

log = logging.getLogger(__name__)

# A page whose text layer has fewer letters than this, but shows images, is a scan.
MIN_TEXT_CHARS = 25
# Pages larger than this (in points, 200 inches) are refused: nothing real is that big
# and rendering them for OCR would exhaust memory.
MAX_PAGE_SIDE = 14400


@dataclass
class RawPage:
    """What a page reader hands to layout analysis."""

    number: int
    width: float
    height: float
    lines: list[Line]
    ocr: bool = False
    tables: list[dict] | None = None  # [{"bbox": (x0, top, x1, bottom), "rows": [[...]]}]
    rules: list[tuple[float, float, float]] | None = None  # horizontal rules: (x0, x1, y)
    error: str | None = None


def check_pdf_file(path: Path) -> None:
    """Fail early, in one line, on files that are not PDFs at all."""
    size = path.stat().st_size
    if size == 0:
        raise ParseError("empty file (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        kind = sniff_kind(head)
        raise UnsupportedFile(f"not a PDF: the file content looks like {kind}")


def sniff_kind(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "a zip archive (perhaps a .docx)"
    if head[:5].lower() in (b"<html", b"<!doc"):
        return "HTML"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff"):
        return "an image"
    try:
        head.decode("utf-8")
        return "plain text"
    except UnicodeDecodeError:
        return "binary data of an unknown kind"


class LeanChar:
    """What we keep of a pdfminer character: position, size, font, text."""

    __slots__ = ("_text", "fontname", "size", "upright", "x0", "y0", "x1", "y1", "adv", "matrix", "top", "bottom", "text")

    def __init__(self, matrix, font, fontsize, scaling, rise, text, textwidth):
        self._text = text
        self.matrix = matrix
        self.fontname = font.fontname
        self.adv = adv = textwidth * fontsize * scaling
        a, b, c, d, e, f = matrix
        self.upright = a * d * scaling > 0 and b * c <= 0
        descent = font.get_descent() * fontsize
        y_lo = descent + rise
        y_hi = y_lo + fontsize
        if b == 0 and c == 0:  # the common case: no rotation or skew
            x0, x1 = e, a * adv + e
            y0, y1 = d * y_lo + f, d * y_hi + f
        else:
            xs = (e + c * y_lo, a * adv + c * y_lo + e, e + c * y_hi, a * adv + c * y_hi + e)
            ys = (d * y_lo + f, b * adv + d * y_lo + f, d * y_hi + f, b * adv + d * y_hi + f)
            x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        if x1 < x0:
            x0, x1 = x1, x0
        if y1 < y0:
            y0, y1 = y1, y0
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.size = y1 - y0 if b == 0 and c == 0 else fontsize * (abs(d) or abs(b) or 1)


def _lean_render_char(self, matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate):
    """pdfminer's render_char without LTChar: vertical fonts take the normal path."""
    if font.is_vertical():
        return _orig_render_char(self, matrix, font, fontsize, scaling, rise, cid, ncs, graphicstate)
    try:
        text = font.to_unichr(cid)
    except Exception:
        text = f"(cid:{cid})"
    item = LeanChar(matrix, font, fontsize, scaling, rise, text, font.char_width(cid))
    self.cur_item._objs.append(item)
    return item.adv


def _lean_process_object(self, obj):
    """Replacement for pdfplumber.Page.process_object: characters become small dicts."""
    if type(obj) is LeanChar or type(obj) is _LTChar:
        mb_x0, mb_top = self.mediabox[0], self.mediabox[1]
        if getattr(obj, "top", None) is not None:
            mb_x0 = 0  # already shifted by page_chars_and_graphics
        top = (self.height - obj.y1) + mb_top
        return {
            "object_type": "char",
            "page_number": self.page_number,
            "text": obj._text,
            "fontname": obj.fontname if isinstance(obj.fontname, str) else str(obj.fontname),
            "size": obj.size,
            "upright": obj.upright,
            "x0": obj.x0 + mb_x0,
            "x1": obj.x1 + mb_x0,
            "y0": obj.y0,
            "y1": obj.y1,
            "width": obj.x1 - obj.x0,
            "height": obj.y1 - obj.y0,
            "top": top,
            "bottom": (self.height - obj.y0) + mb_top,
            "doctop": self.initial_doctop + top,
            "matrix": obj.matrix,
            "adv": obj.adv,
        }
    return _orig_process_object(self, obj)


try:
    from pdfminer.layout import LTChar as _LTChar
    from pdfplumber.page import Page as _PlumberPage
    from pdfplumber.page import PDFPageAggregatorWithMarkedContent as _Aggregator

    _orig_process_object = _PlumberPage.process_object
    _orig_render_char = _Aggregator.render_char
except ImportError:  # pragma: no cover - pdfplumber is a hard dependency
    _LTChar = _Aggregator = None
    _orig_process_object = _orig_render_char = None


class _LeanAggregator(_Aggregator):
    render_char = _lean_render_char

    def render_string_horizontal(self, seq, matrix, pos, font, fontsize, scaling, charspace, wordspace, rise, dxscale, ncs, graphicstate):
        """pdfminer's loop over the glyphs of a text-showing operator, for the common
        case of upright, unrotated text: glyph text and width are cached per font, and
        positions are computed inline instead of through a matrix product per glyph.
        Anything else (rotation, skew, vertical fonts) takes pdfminer's own path."""
        a, b, c, d, e, f = matrix
        if b or c or font.is_vertical():
            return super().render_string_horizontal(
                seq, matrix, pos, font, fontsize, scaling, charspace, wordspace, rise, dxscale, ncs, graphicstate
            )
        glyphs = self._glyph_cache(font)
        x, y = pos
        fontname = font.fontname
        upright = a * d * scaling > 0
        y_lo = font.get_descent() * fontsize + rise
        y0 = d * y_lo + d * y + f
        y1 = d * (y_lo + fontsize) + d * y + f
        if y1 < y0:
            y0, y1 = y1, y0
        size = y1 - y0
        scale = fontsize * scaling
        objs = self.cur_item._objs
        needcharspace = False
        for obj in seq:
            if isinstance(obj, (int, float)):
                x -= obj * dxscale
                needcharspace = True
            elif isinstance(obj, bytes):
                for cid in font.decode(obj):
                    if needcharspace:
                        x += charspace
                    glyph = glyphs.get(cid)
                    if glyph is None:
                        try:
                            text = font.to_unichr(cid)
                        except Exception:
                            text = f"(cid:{cid})"
                        glyph = glyphs[cid] = (text, font.char_width(cid))
                    adv = glyph[1] * scale
                    ch = LeanChar.__new__(LeanChar)
                    ch._text = glyph[0]
                    ch.fontname = fontname
                    ch.adv = adv
                    ch.upright = upright
                    ex = a * x + e
                    x1 = a * adv + ex
                    if x1 < ex:
                        ch.x0, ch.x1 = x1, ex
                    else:
                        ch.x0, ch.x1 = ex, x1
                    ch.y0 = y0
                    ch.y1 = y1
                    ch.size = size
                    ch.matrix = (a, b, c, d, ex, d * y + f)
                    objs.append(ch)
                    x += adv
                    if cid == 32 and wordspace:
                        x += wordspace
                    needcharspace = True
        return (x, y)

    def _glyph_cache(self, font) -> dict:
        caches = self.__dict__.setdefault("_glyphs", {})
        key = id(font)
        if key not in caches:
            caches[key] = ({}, font)  # keep the font alive so its id stays unique
        return caches[key][0]


def _noop(*args, **kwargs) -> None:
    return None


def _silence_pdfminer_debug() -> None:
    """pdfminer calls log.debug() for every operator (~6 calls a character); even
    disabled, each call costs. Replace the bound method on its module loggers."""
    for name in ("pdfminer.pdfinterp", "pdfminer.psparser", "pdfminer.pdfpage", "pdfminer.cmapdb", "pdfminer.pdffont"):
        logging.getLogger(name).debug = _noop


def lean_layout(page):
    """What pdfplumber's `Page.layout` does, with our device: characters become
    LeanChars; paths, rects and images are untouched. Set on this page only, so plain
    pdfplumber use elsewhere in the process is not affected."""
    if not hasattr(page, "_layout"):
        from pdfminer.pdfinterp import PDFPageInterpreter
        from pdfplumber.utils.exceptions import PdfminerException

        device = _LeanAggregator(page.pdf.rsrcmgr, pageno=page.page_number, laparams=page.pdf.laparams)
        interpreter = PDFPageInterpreter(page.pdf.rsrcmgr, device)
        try:
            interpreter.process_page(page.page_obj)
        except Exception as exc:
            raise PdfminerException(exc)
        page._layout = device.get_result()
    return page._layout


def open_pdf(path: Path):
    """Open with pdfplumber, turning every library failure into a one-line ParseError."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect, PDFEncryptionError
    from pdfminer.pdfparser import PDFSyntaxError

    check_pdf_file(path)
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    _silence_pdfminer_debug()
    try:
        pdf = pdfplumber.open(str(path))
        n = len(pdf.pages)
    except Exception as outer:  # pdfminer raises many kinds on broken files
        exc = _root_cause(outer)
        if isinstance(exc, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise ParseError("password-protected PDF: remove the password and ingest again") from outer
        if isinstance(exc, PDFSyntaxError):
            raise ParseError(f"corrupt or truncated PDF ({exc})") from outer
        msg = " ".join(str(exc).split())[:160] or exc.__class__.__name__
        if "password" in msg.lower() or "encrypt" in msg.lower():
            raise ParseError("password-protected PDF: remove the password and ingest again") from exc
        raise ParseError(f"corrupt or truncated PDF ({exc.__class__.__name__}: {msg})") from exc
    if n == 0:
        pdf.close()
        raise ParseError("the PDF has no pages")
    return pdf


def _root_cause(exc: BaseException) -> BaseException:
    """pdfplumber wraps pdfminer's errors in PdfminerException(original)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        if exc.args and isinstance(exc.args[0], BaseException):
            exc = exc.args[0]
        elif exc.__cause__ is not None:
            exc = exc.__cause__
        else:
            break
    return exc


def read_pdf(path: Path, *, ocr: str = "auto", page_numbers: list[int] | None = None) -> list[RawPage]:
    """Read every page (or the given 1-based page numbers) of a PDF into RawPages.

    ocr: "auto" (OCR only pages without a usable text layer), "never", "always"."""
    pdf = open_pdf(path)
    pages: list[RawPage] = []
    try:
        numbers = page_numbers or list(range(1, len(pdf.pages) + 1))
        for number in numbers:
            page = pdf.pages[number - 1]
            pages.append(read_page(path, page, number, ocr=ocr))
    except ParseError:
        raise
    except Exception as exc:
        raise ParseError(f"corrupt PDF: page {len(pages) + 1} cannot be read ({exc.__class__.__name__}: {exc})") from exc
    finally:
        pdf.close()
    return pages


def read_page(path: Path, page, number: int, *, ocr: str = "auto") -> RawPage:
    width, height = float(page.width), float(page.height)
    if width > MAX_PAGE_SIDE or height > MAX_PAGE_SIDE:
        return RawPage(number, width, height, [], error=f"page {number} is too large ({width:.0f} x {height:.0f} pt); skipped")
    page.process_object = types.MethodType(_lean_process_object, page)
    chars, graphics = page_chars_and_graphics(page)
    has_images = any(g["object_type"] == "image" for g in graphics)
    needs_ocr = ocr == "always" or (ocr == "auto" and (has_images and _few_letters(chars) or looks_garbled(chars)))
    if needs_ocr:
        from .ocr import ocr_pdf_page

        return ocr_pdf_page(path, number, width, height)
    lines = chars_to_lines(chars)
    rules = horizontal_rules(graphics)
    tables = find_tables(page) if _has_grid(graphics) else None
    return RawPage(number, width, height, lines, tables=tables, rules=rules)


def page_chars_and_graphics(page) -> tuple[list[LeanChar], list[dict]]:
    """Walk pdfminer's layout tree once: characters stay lean objects with top/bottom in
    pdfplumber's top-left coordinates; the few graphic objects take pdfplumber's path."""
    mb_x0, mb_top = float(page.mediabox[0]), float(page.mediabox[1])
    height = float(page.height)
    chars: list[LeanChar] = []
    graphics: list[dict] = []
    stack = [iter(lean_layout(page)._objs)]
    while stack:
        for obj in stack[-1]:
            if type(obj) is LeanChar:
                if obj.upright:
                    obj.top = height - obj.y1 + mb_top
                    obj.bottom = height - obj.y0 + mb_top
                    if mb_x0:
                        obj.x0 += mb_x0
                        obj.x1 += mb_x0
                    obj.text = obj._text
                    chars.append(obj)
            elif hasattr(obj, "_objs"):  # figures (form XObjects) hold objects too
                stack.append(iter(obj._objs))
                break
            else:
                graphics.append(page.process_object(obj))
        else:
            stack.pop()
    return chars, graphics


def _few_letters(chars: list[LeanChar]) -> bool:
    letters = 0
    for c in chars:
        if c.text.isalpha():
            letters += 1
            if letters >= MIN_TEXT_CHARS:
                return False
    return True


def looks_garbled(chars: list[LeanChar]) -> bool:
    """A text layer of unmapped glyphs (cid codes, private-use or control characters),
    judged on an even sample of the page's characters."""
    if len(chars) < 200:
        return False
    step = max(1, len(chars) // 400)
    chars = chars[::step]
    bad = 0
    for c in chars:
        t = c.text
        if t.startswith("(cid:") or (len(t) == 1 and (0xE000 <= ord(t) <= 0xF8FF or ord(t) < 32 or t == "\ufffd")):
            bad += 1
    return bad / len(chars) > 0.3


def horizontal_rules(graphics: list[dict]) -> list[tuple[float, float, float]]:
    """Thin horizontal lines and rects: footnote separators and header rules."""
    out = []
    for obj in graphics:
        if obj["object_type"] not in ("line", "rect", "curve"):
            continue
        if abs(obj["bottom"] - obj["top"]) <= 2 and obj["x1"] - obj["x0"] > 20:
            out.append((obj["x0"], obj["x1"], (obj["top"] + obj["bottom"]) / 2))
    return out


def _has_grid(graphics: list[dict]) -> bool:
    n_h = n_v = 0
    for obj in graphics:
        if obj["object_type"] not in ("line", "rect"):
            continue
        w, h = obj["x1"] - obj["x0"], obj["bottom"] - obj["top"]
        if h <= 2 and w > 5:
            n_h += 1
        elif w <= 2 and h > 5:
            n_v += 1
        elif w > 5 and h > 5:  # a cell drawn as a rect has both kinds of edges
            n_h += 2
            n_v += 2
    return n_h >= 3 and n_v >= 2


def find_tables(page) -> list[dict]:
    """Ruled tables through pdfplumber's table finder (only called on pages with a grid)."""
    out = []
    try:
        for table in page.find_tables({"vertical_strategy": "lines", "horizontal_strategy": "lines"}):
            rows = table.extract()
            rows = [[clean_cell(c) for c in row] for row in rows if row and any(c for c in row)]
            if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
                out.append({"bbox": tuple(float(v) for v in table.bbox), "rows": rows})
    except Exception as exc:  # a broken path must not cost the page its text
        log.debug("table finder failed on page %s: %s", page.page_number, exc)
    return out


def clean_cell(cell) -> str:
    if cell is None:
        return ""
    text = "".join(clean_char(ch) for ch in str(cell))
    text = text.replace(SOFT_HYPHEN + "\n", "").replace("-\n", "-").replace(SOFT_HYPHEN, "")
    return " ".join(text.split())


def chars_to_lines(chars: list[LeanChar]) -> list[Line]:
    """Group characters into lines in reading order (single column, top to bottom).

    Superscripts (footnote marks) are drawn a few points above their line; they are
    first clustered on their own and then merged into the line they overlap, where
    digits become `Mark`s instead of text."""
    if not chars:
        return []
    items = sorted(chars, key=lambda c: ((c.top + c.bottom) / 2, c.x0))
    clusters: list[list[dict]] = []
    current: list[dict] = []
    cur_center = None
    for c in items:
        center = (c.top + c.bottom) / 2
        tol = max(1.5, 0.3 * c.size)
        if current and abs(center - cur_center) <= tol:
            current.append(c)
        else:
            if current:
                clusters.append(current)
            current = [c]
            cur_center = center
    if current:
        clusters.append(current)

    # Merge clusters of small characters into the body line they overlap vertically.
    sizes = [max(c.size for c in cl) for cl in clusters]
    merged: list[list[dict]] = []
    attached: dict[int, list[dict]] = {}
    for i, cl in enumerate(clusters):
        size = sizes[i]
        host = None
        for j in (i + 1, i - 1):
            if 0 <= j < len(clusters) and sizes[j] > size * 1.2:
                top = min(c.top for c in clusters[j])
                bottom = max(c.bottom for c in clusters[j])
                center = sum((c.top + c.bottom) / 2 for c in cl) / len(cl)
                if top - 0.5 <= center <= bottom + 0.5 and _fits_horizontally(cl, clusters[j]):
                    host = j
                    break
        if host is None:
            merged.append(cl)
        else:
            attached.setdefault(host, []).extend(cl)
    # keep original order; attach superscripts to their hosts
    lines = []
    index = {id(cl): i for i, cl in enumerate(clusters)}
    for cl in merged:
        i = index[id(cl)]
        extra = attached.get(i, [])
        lines.append(build_line(cl, extra))
    lines.sort(key=lambda l: (round(l.top), l.x0))
    return [l for l in lines if l.text.strip() or l.marks]


def _fits_horizontally(small: list[dict], host: list[dict]) -> bool:
    """A superscript sits within or right after its line's text, not far away."""
    x0 = min(c.x0 for c in host)
    x1 = max(c.x1 for c in host)
    sx0 = min(c.x0 for c in small)
    return x0 - 30 <= sx0 <= x1 + 15


def build_line(body: list[LeanChar], supers: list[LeanChar]) -> Line:
    """Join characters left to right, inserting spaces at gaps the PDF left implicit."""
    sizes = Counter(c.size for c in body)
    size = max(sizes, key=sizes.get)
    limit = size * 0.85
    body_main = [c for c in body if c.size >= limit]
    raised = [c for c in body if c.size < limit]
    baseline = max((c.bottom for c in body_main), default=0)
    if raised:  # within the body cluster, raised smaller digits are superscripts too
        supers = supers + [c for c in raised if c.bottom < baseline - 1.0]
        normal = body_main + [c for c in raised if c.bottom >= baseline - 1.0]
    else:
        normal = body_main
    super_ids = {id(c) for c in supers}
    ordered = sorted(normal + supers, key=_x0)

    parts: list[str] = []
    marks: list[Mark] = []
    digits = ""
    digits_at = 0
    length = 0
    prev = None
    last_space = True  # no space at the start of a line
    for c in ordered:
        t = c.text
        if len(t) != 1 or not t.isascii():
            t = clean_char(t)
            if not t:
                continue
        if id(c) in super_ids:
            if not digits:
                digits_at = length
            digits += t.strip()
            prev = c
            continue
        if digits:
            if digits.isdigit() and len(digits) <= 3:
                marks.append(Mark(int(digits), digits_at))
            digits = ""
        if t == " ":
            if not last_space:
                parts.append(" ")
                length += 1
                last_space = True
            prev = c
            continue
        if prev is not None and not last_space and c.x0 - prev.x1 > 0.22 * c.size:
            parts.append(" ")
            length += 1
        parts.append(t)
        length += len(t)
        last_space = t.endswith(" ")
        prev = c
    if digits and digits.isdigit() and len(digits) <= 3:
        marks.append(Mark(int(digits), digits_at))
    text = "".join(parts).rstrip()
    leading_mark = None
    # A superscript number at the very start is the number of a footnote's text.
    if marks and marks[0].offset == 0:
        leading_mark = marks.pop(0).number
    n = len(text)
    marks = [Mark(m.number, min(m.offset, n)) for m in marks]

    fonts = Counter(c.fontname for c in body_main if c.text != " ")
    total = sum(fonts.values()) or 1
    bold_n = italic_n = 0
    for name, count in fonts.items():
        b, i = font_style(name)
        bold_n += b * count
        italic_n += i * count
    ref = normal or body
    return Line(
        text=text,
        x0=min(c.x0 for c in ref),
        x1=max(c.x1 for c in ref),
        top=min(c.top for c in (body_main or body)),
        bottom=baseline or max(c.bottom for c in body),
        size=size,
        bold=bold_n / total > 0.6,
        italic=italic_n / total > 0.6,
        font=fonts.most_common(1)[0][0] if fonts else "",
        marks=marks,
        leading_mark=leading_mark,
    )


def _x0(c) -> float:
    return c.x0


def pdf_page_count(path: Path) -> int:
    pdf = open_pdf(path)
    try:
        return len(pdf.pages)
    finally:
        pdf.close()


def cpu_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))
