"""Text lines with their typography: the common currency between the page readers
(PDF text layer, OCR, ...) and the layout analysis that turns lines into blocks."""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field

# Characters that PDFs carry but readers do not want: ligatures become letters,
# non-breaking and odd spaces become spaces. Soft hyphens are handled in layout
# (they mark a possible line break, and vanish everywhere else).
LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
SPACES = {"\u00a0", "\u2002", "\u2003", "\u2007", "\u2009", "\u200a", "\u202f", "\u3000"}
ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\ufeff"}
SOFT_HYPHEN = "\u00ad"
BULLETS = "•◦▪▫■□●○‣⁃∙·–-*"
# pdfminer writes glyphs without a unicode mapping as "(cid:N)"; 127 is the
# bullet of Word/LibreOffice exports with a Symbol-like font.
CID_RE = re.compile(r"\(cid:(\d+)\)")
CID_MAP = {"127": "•", "149": "•", "183": "•"}


def clean_char(text: str) -> str:
    if text in LIGATURES:
        return LIGATURES[text]
    if text in SPACES:
        return " "
    if text in ZERO_WIDTH:
        return ""
    if "(cid:" in text:
        return CID_RE.sub(lambda m: CID_MAP.get(m.group(1), ""), text)
    return text


@dataclass
class Mark:
    """A superscript number inside a line: a footnote mark candidate."""

    number: int
    offset: int  # character offset in Line.text where the mark stood


@dataclass
class Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # dominant font size (points)
    bold: bool = False
    italic: bool = False
    font: str = ""
    marks: list[Mark] = field(default_factory=list)
    leading_mark: int | None = None  # a superscript number that starts the line (footnote text)
    ocr: bool = False

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def center(self) -> float:
        return (self.top + self.bottom) / 2


@lru_cache(maxsize=1024)
def font_style(fontname: str) -> tuple[bool, bool]:
    """(bold, italic) from a PDF font name such as 'ABCDEF+LiberationSerif-BoldItalic'."""
    name = fontname.split("+", 1)[-1].lower()
    bold = any(w in name for w in ("bold", "black", "heavy", "semibold", "demi", ",b")) or name.endswith("bd") or "-bd" in name or "bd." in name
    italic = any(w in name for w in ("italic", "oblique", ",i")) or name.endswith(("it", "bi")) or "-it" in name
    return bold, italic
