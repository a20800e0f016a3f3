"""Plain-text files (.txt): paragraphs separated by blank lines, one page (or pages
separated by form feeds). Headings are short lines without final punctuation that
stand alone, numbered or not."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import ParseError, UnsupportedFile
from ..models import Block, Page
from .layout import FOOTNOTE_START_RE, HEADING_NUMBER_RE, LIST_NUMBER_RE, mark_interview_quotes
from .lines import BULLETS, clean_char

NOTES_RE = re.compile(r"^(fotnoter|noter|källor)\s*:?$", re.IGNORECASE)


def read_text(path: Path) -> list[Page]:
    data = path.read_bytes()
    if not data:
        raise ParseError("empty file (0 bytes)")
    if b"\x00" in data[:4096]:
        raise UnsupportedFile("not a text file: it contains binary data")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # older Swedish Windows files
    text = "".join(clean_char(ch) if ord(ch) > 127 else ch for ch in text).replace("\u00ad", "")
    pages = []
    for n, chunk in enumerate(text.split("\f"), 1):
        pages.append(Page(number=n, blocks=text_blocks(chunk)))
    if not any(p.blocks for p in pages):
        raise ParseError("the text file contains no text")
    mark_interview_quotes(pages)
    return pages


def text_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    in_notes = False
    for para in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [l.strip() for l in para.strip().split("\n") if l.strip()]
        if not lines:
            continue
        joined = " ".join(lines)
        if len(lines) == 1 and NOTES_RE.match(joined):
            in_notes = True
            continue
        if in_notes:
            for line in lines:
                m = FOOTNOTE_START_RE.match(line.lstrip("[").replace("]", "", 1))
                if m:
                    blocks.append(Block("footnote", m.group(2), number=m.group(1)))
                elif blocks and blocks[-1].kind == "footnote":
                    blocks[-1].text += " " + line
            continue
        if all(l[:1] in BULLETS and l[1:2] == " " or LIST_NUMBER_RE.match(l) for l in lines):
            for l in lines:
                blocks.append(Block("list_item", l[2:].strip() if l[:1] in BULLETS else l))
            continue
        m = HEADING_NUMBER_RE.match(joined)
        letters = [c for c in joined if c.isalpha()]
        letterhead = not blocks and letters and (
            all(c.isupper() for c in letters) or re.search(r"\b(kommun|stad|län|regionen?)$", joined) and len(joined.split()) <= 4
        )
        dated = re.search(r"\b(19|20)\d{2}\b", joined) and len(joined) < 60 and not m
        if len(lines) == 1 and len(joined) < 160 and not joined.endswith((".", ",", ":", ";")) and not letterhead and not dated:
            block = Block("heading", joined, level=1)
            if m:
                block.number = m.group(1)
                block.level = block.number.count(".") + 1
                block.text = m.group(2)
            blocks.append(block)
            continue
        if lines[0].startswith((">", "”", '"')) and joined.rstrip(".").endswith(("”", '"')):
            blocks.append(Block("quote", joined.lstrip("> ")))
            continue
        blocks.append(Block("paragraph", joined))
    return blocks
