"""OCR for scanned pages: render the page with pdfium at ~300 dpi and read it with
Tesseract (Swedish). Words come back with boxes, so the same layout analysis as for
text-layer pages applies (headings by size, footnotes at the bottom, headers)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import ParseError
from .lines import Line, clean_char
from .pdf import RawPage

OCR_DPI = 300
# Cap the rendered bitmap (a "huge page" must not take the machine's memory).
MAX_PIXELS = 60_000_000
LANG = "swe"


def tesseract_available() -> bool:
    return shutil.which("tesseract") is not None


def ensure_tesseract() -> None:
    if not tesseract_available():
        raise ParseError("scanned page needs OCR but tesseract is not installed (run `make install`)")
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True).stdout.split()
    if LANG not in langs:
        raise ParseError("scanned page needs OCR but Tesseract's Swedish data is missing (apt-get install tesseract-ocr-swe)")


def ocr_pdf_page(path: Path, number: int, width: float, height: float) -> RawPage:
    import pypdfium2 as pdfium

    ensure_tesseract()
    dpi = OCR_DPI
    pixels = (width / 72 * dpi) * (height / 72 * dpi)
    if pixels > MAX_PIXELS:
        dpi = int(dpi * (MAX_PIXELS / pixels) ** 0.5)
    doc = pdfium.PdfDocument(str(path))
    try:
        bitmap = doc[number - 1].render(scale=dpi / 72, grayscale=True)
        image = bitmap.to_pil()
    finally:
        doc.close()
    lines = ocr_image_lines(image, dpi)
    return RawPage(number, width, height, lines, ocr=True)


def fix_ocr_word(word: str) -> str:
    """Known Tesseract slips on Swedish official text: § read as $, table and box
    borders read as |."""
    if word in ("|", "||", "¦"):
        return ""
    return word.replace("$", "§")


# Where a law is cited, "§" read as "8" ("34 a 8 förvaltningsprocesslagen") and "§§" as
# "88" or "§&"; the parentheses around an SFS number read as brackets.
_LAW_NEXT = r"(?= (?:[a-zåäö]*lagen|[A-ZÅÄÖ][a-zåäö]*lagen|[a-zåäö]*balken|[a-zåäö]*förordningen|SoL|OSL|FL|FPL|LSS|KL|RF|första|andra|tredje|fjärde|femte|och|samt)\b)"
_SECTION_AS_8 = re.compile(r"(\b\d{1,3}(?: [a-z])? )(8|88)" + _LAW_NEXT)


def fix_ocr_line(text: str) -> str:
    text = _SECTION_AS_8.sub(lambda m: m.group(1) + ("§" if m.group(2) == "8" else "§§"), text)
    text = text.replace("§&", "§§")
    return re.sub(r"\[((?:1[6-9]|20)\d{2}:\d{1,4})\]", r"(\1)", text)


def ocr_image_lines(image, dpi: int) -> list[Line]:
    """Tesseract's word boxes grouped into its own lines, in PDF points."""
    import pytesseract

    # Tesseract's OpenMP threads fight each other (and our other worker) on a small
    # machine: one thread per process measured 7x faster here (2.7 s vs 18.9 s a page).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(
        image, lang=LANG, config=f"--psm 3 --dpi {dpi}", output_type=pytesseract.Output.DICT
    )
    scale = 72 / dpi
    groups: dict[tuple, list[int]] = {}
    for i, word in enumerate(data["text"]):
        if not word or not word.strip():
            continue
        try:
            if float(data["conf"][i]) < 0:
                continue
        except ValueError:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        groups.setdefault(key, []).append(i)
    lines = []
    for key, idx in groups.items():
        words = [fix_ocr_word("".join(clean_char(ch) for ch in data["text"][i])) for i in idx]
        words = [w for w in words if w]
        if not words:
            continue
        x0 = min(data["left"][i] for i in idx) * scale
        x1 = max(data["left"][i] + data["width"][i] for i in idx) * scale
        top = min(data["top"][i] for i in idx) * scale
        bottom = max(data["top"][i] + data["height"][i] for i in idx) * scale
        # Word boxes cover ascenders to descenders: about the font size in points.
        heights = sorted(data["height"][i] for i in idx)
        size = heights[len(heights) // 2] * scale * 1.05
        lines.append(Line(text=fix_ocr_line(" ".join(words)), x0=x0, x1=x1, top=top, bottom=bottom, size=round(size * 2) / 2, ocr=True))
    lines.sort(key=lambda l: (round(l.top), l.x0))
    return lines
