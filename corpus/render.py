#!/usr/bin/env python3
"""Render the textmine demo corpus.

Reads every ``corpus/sources/*.md`` that starts with ``---`` front matter (see
``corpus/sources/FORMAT.md``) and writes ``corpus/documents/<id>.<ext>`` plus
``corpus/truth.json`` (what a perfect parser should find in each document).

Usage (from the project root)::

    .venv/bin/python corpus/render.py                   # render everything
    .venv/bin/python corpus/render.py --only ID [ID ...] # re-render some ids, keep other truth entries
    .venv/bin/python corpus/render.py --sources DIR --out DIR   # e.g. test sources into a temp dir
    .venv/bin/python corpus/render.py --prune            # also delete documents/ files with no source

Formats
  pdf   reportlab, A4, own page-filling loop: running header (not on page 1 unless
        ``header_first: yes``), footer page numbers, footnotes at the bottom of the page
        where their mark lands, deterministic bytes (invariant=1).
  scan  the pdf rasterised at 300 dpi, grayscale, slightly rotated, speckled, with a faint
        copier border; image-only PDF (no text layer), JPEG q70, deterministic.
  docx  python-docx: Heading 1-3, List Bullet/List Number (numbering restarts per list),
        Quote, Word tables, header/footer with PAGE/NUMPAGES fields, real Word footnotes
        (word/footnotes.xml).  ``docx_footnotes: end`` puts them as text under a
        "Fotnoter" heading at the end instead.
  txt   plain UTF-8 text, footnote marks as [n], footnotes under "Fotnoter" at the end.

truth.json: one entry per document, sorted by id: id, file (relative to corpus/), format, doc_type,
  title, date, issuer, pages, headings [{level, number, text}] in order (number null when
  unnumbered; `**LABEL**` lines are NOT headings), footnotes [{number, text, page}] (page only
  for pdf/scan: the page whose bottom carries it, = page of its first mark), quotes (count of
  `>` blocks), tables (pipe tables; boxes are not counted), list_items, boxes, source, sha256.
  pages: pdf/scan exact; txt = 1 + form feeds; docx = estimate from the PDF layout, also
  written to docProps/app.xml <Pages> (Word does the same; there is no exact docx page count).
  Footnotes are renumbered 1..n by first mark if the source numbers are out of order.

Optional front-matter keys understood besides those in FORMAT.md (all have defaults):
  footer: left | centre | right   small footer text (e.g. court address line), {n}/{total} allowed
  hyphenate: yes|no              hyphenate long Swedish words at line ends (pdf/scan);
                                 default yes for reports/decisions, no for rulings etc.
  align: justify|left            body alignment (default by doc_type)
  footnote_number: plain|super   how the number is printed in the footnote area
  docx_footnotes: real|end       see above
"""
from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import io
import json
import os
import random
import re
import sys
import unicodedata
import zipfile
from copy import deepcopy
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCES = HERE / "sources"
DEFAULT_OUT = HERE

EXT = {"pdf": "pdf", "scan": "pdf", "docx": "docx", "txt": "txt"}
SKIP_NAMES = {"FORMAT.md", "WORLD.md"}


def warn(msg):
    print("WARNING: " + msg, file=sys.stderr)


# ---------------------------------------------------------------------------
# Source parsing
# ---------------------------------------------------------------------------

class Doc:
    def __init__(self, path, meta, blocks, footnotes, fn_order):
        self.path = path
        self.meta = meta
        self.blocks = blocks          # list of block dicts
        self.footnotes = footnotes    # number -> segments
        self.fn_order = fn_order      # list of numbers in order
        self.title_block = find_title_block(meta, blocks)

    @property
    def id(self):
        return self.meta["id"]


def read_front_matter(text):
    """Return (meta, body_lines) or (None, None) if the file has no front matter."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or lines[i].strip() != "---":
        return None, None
    meta = {}
    j = i + 1
    while j < len(lines) and lines[j].strip() != "---":
        ln = lines[j]
        j += 1
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        if ":" not in ln:
            warn(f"front matter line without ':' ignored: {ln!r}")
            continue
        k, v = ln.split(":", 1)
        v = re.sub(r"\s+#\s.*$", "", v).strip()   # trailing "# comment"
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        meta[k.strip().lower()] = v
    if j >= len(lines):
        raise ValueError("front matter not closed with ---")
    return meta, lines[j + 1:]


INLINE_RE = re.compile(
    r"\[\^([^\]\s]+)\]"                                   # footnote mark
    r"|\*\*(.+?)\*\*"                                     # bold
    r"|(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"          # italic
)


def parse_inline(s, bold=False, italic=False):
    """-> list of ('t', text, bold, italic) | ('fn', label)"""
    out = []
    pos = 0
    for m in INLINE_RE.finditer(s):
        if m.start() > pos:
            out.append(("t", s[pos:m.start()], bold, italic))
        if m.group(1) is not None:
            out.append(("fn", m.group(1)))
        elif m.group(2) is not None:
            out.extend(parse_inline(m.group(2), True, italic))
        else:
            out.extend(parse_inline(m.group(3), bold, True))
        pos = m.end()
    if pos < len(s):
        out.append(("t", s[pos:], bold, italic))
    return out


def segs_plain(segs, fn_fmt=None):
    parts = []
    for sg in segs:
        if sg[0] == "t":
            parts.append(sg[1])
        elif fn_fmt:
            parts.append(fn_fmt.format(n=sg[1]))
    return "".join(parts)


def norm_ws(s):
    return re.sub(r"[ \t]+", " ", s).strip()


HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
HNUM_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+(\S.*)$")
BULLET_RE = re.compile(r"^(\s*)[-*•]\s+(.*)$")
NUMITEM_RE = re.compile(r"^(\s*)(\d{1,3})[.)]\s+(.*)$")
FNDEF_RE = re.compile(r"^\[\^([^\]\s]+)\]:\s*(.*)$")
LABEL_RE = re.compile(r"^\*\*([^*].*?)\*\*:?$")
TABLE_SEP_RE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def split_row(line):
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip() for c in s.split("|")]


def keep_breaks(lines):
    """Short consecutive lines (address blocks, case headers) keep their line breaks."""
    if len(lines) < 2:
        return False
    return max(len(x.strip()) for x in lines[:-1]) <= 55


def parse_body(lines, footdefs, in_box=False):
    blocks = []
    para = []

    def flush():
        if para:
            kb = keep_breaks(para)
            txt = "\n".join(norm_ws(x) for x in para) if kb else " ".join(norm_ws(x) for x in para)
            blocks.append({"kind": "para", "segs": parse_inline(txt), "breaks": kb})
            para.clear()

    i = 0
    n = len(lines)
    while i < n:
        raw = lines[i].rstrip()
        s = raw.strip()
        if not s:
            flush()
            i += 1
            continue
        # footnote definition (may continue on indented lines)
        m = FNDEF_RE.match(s)
        if m and not raw.startswith(" "):
            flush()
            text = [m.group(2)]
            i += 1
            while i < n and lines[i].strip() and (lines[i].startswith((" ", "\t"))):
                text.append(lines[i].strip())
                i += 1
            label = m.group(1)
            if label in footdefs:
                warn(f"footnote [^{label}] defined twice")
            footdefs[label] = parse_inline(" ".join(norm_ws(t) for t in text))
            continue
        if s in ("\\pagebreak", "\\newpage"):
            flush()
            blocks.append({"kind": "pagebreak"})
            i += 1
            continue
        if s.startswith(":::") and not in_box:
            flush()
            kind = s[3:].strip()
            inner = []
            i += 1
            while i < n and lines[i].strip() != ":::":
                inner.append(lines[i])
                i += 1
            if i >= n:
                warn("box not closed with :::")
            i += 1
            title = kind[3:].strip() if kind.lower().startswith("box") else kind
            sub = parse_body(inner, footdefs, in_box=True)
            if title:
                sub.insert(0, {"kind": "label", "segs": parse_inline(title)})
            blocks.append({"kind": "box", "blocks": sub})
            continue
        m = HEADING_RE.match(s)
        if m and not raw.startswith(" "):
            flush()
            level = len(m.group(1))
            htxt = m.group(2)
            hm = HNUM_RE.match(htxt)
            number = None
            if hm:
                number, htxt = hm.group(1), hm.group(2)
            blocks.append({"kind": "heading", "level": level, "number": number,
                           "segs": parse_inline(htxt)})
            i += 1
            continue
        m = LABEL_RE.match(s)
        if m and "**" not in m.group(1):
            flush()
            blocks.append({"kind": "label", "segs": parse_inline(m.group(1))})
            i += 1
            continue
        if s.startswith(">"):
            flush()
            paras = [[]]
            while i < n and lines[i].strip().startswith(">"):
                t = lines[i].strip()[1:].strip()
                if not t:
                    if paras[-1]:
                        paras.append([])
                else:
                    paras[-1].append(t)
                i += 1
            paras = [p for p in paras if p]
            blocks.append({"kind": "quote",
                           "paras": [parse_inline(" ".join(norm_ws(x) for x in p)) for p in paras]})
            continue
        if s.startswith("|"):
            flush()
            rows = []
            while i < n and lines[i].strip().startswith("|"):
                t = lines[i].strip()
                if not TABLE_SEP_RE.match(t):
                    rows.append([parse_inline(c) for c in split_row(t)])
                i += 1
            ncol = max(len(r) for r in rows)
            for r in rows:
                while len(r) < ncol:
                    r.append([])
            blocks.append({"kind": "table", "rows": rows})
            continue
        mb = BULLET_RE.match(raw)
        mn = NUMITEM_RE.match(raw)
        if (mb and not s.startswith("**")) or mn:
            flush()
            if mn:
                indent, num, text = len(mn.group(1).expandtabs(4)), mn.group(2), mn.group(3)
                kind = "number"
            else:
                indent, num, text = len(mb.group(1).expandtabs(4)), None, mb.group(2)
                kind = "bullet"
            text = [text]
            i += 1
            # continuation lines: non-blank, not a new construct
            while i < n:
                nxt = lines[i]
                ns = nxt.strip()
                if (not ns or BULLET_RE.match(nxt) or NUMITEM_RE.match(nxt) or ns.startswith(("|", ">", "#", ":::", "\\"))
                        or FNDEF_RE.match(ns) or LABEL_RE.match(ns)):
                    break
                text.append(ns)
                i += 1
            blocks.append({"kind": "item", "list": kind, "num": num,
                           "level": 1 + (1 if indent >= 2 else 0),
                           "segs": parse_inline(" ".join(norm_ws(t) for t in text))})
            continue
        para.append(raw)
        i += 1
    flush()
    return blocks


def _cmp(s):
    return re.sub(r"\s+", " ", s).strip().lower()


def find_title_block(meta, blocks):
    """Index of a top-level **LABEL** / paragraph before the first heading whose text is the
    document title: rendered as a large title (like a real report cover), not as a heading."""
    title = _cmp(meta.get("title", ""))
    if not title:
        return None
    for i, b in enumerate(blocks):
        if b["kind"] in ("heading", "pagebreak"):
            return None
        if b["kind"] in ("label", "para") and not b.get("breaks") and _cmp(segs_plain(b["segs"])) == title:
            return i
    return None


def walk_blocks(blocks):
    for b in blocks:
        yield b
        if b["kind"] == "box":
            yield from walk_blocks(b["blocks"])


def block_segs(b):
    k = b["kind"]
    if k in ("para", "label", "heading", "item"):
        yield b["segs"]
    elif k == "quote":
        yield from b["paras"]
    elif k == "table":
        for r in b["rows"]:
            yield from r


def renumber(blocks, footdefs, doc_id):
    """Number footnotes 1..n in order of first mark; rewrite marks in place."""
    order = {}
    for b in walk_blocks(blocks):
        for segs in block_segs(b):
            for sg in segs:
                if sg[0] == "fn" and sg[1] not in order:
                    order[sg[1]] = len(order) + 1
    if [k for k in order] != [str(i) for i in range(1, len(order) + 1)]:
        if all(k.isdigit() for k in order):
            warn(f"{doc_id}: footnote marks not in order 1..n ({list(order)}); renumbered by first occurrence")
    for label in order:
        if label not in footdefs:
            warn(f"{doc_id}: footnote mark [^{label}] has no definition")
    for label in footdefs:
        if label not in order:
            warn(f"{doc_id}: footnote [^{label}] defined but never referenced (dropped)")

    def fix(segs):
        for k, sg in enumerate(segs):
            if sg[0] == "fn":
                segs[k] = ("fn", order[sg[1]])

    for b in walk_blocks(blocks):
        for segs in block_segs(b):
            fix(segs)
    notes = {}
    for label, num in order.items():
        segs = footdefs.get(label, [("t", "(fotnottext saknas)", False, False)])
        notes[num] = segs
    return notes, sorted(notes)


def parse_source(path):
    text = Path(path).read_text(encoding="utf-8")
    text = unicodedata.normalize("NFC", text)
    meta, body = read_front_matter(text)
    if meta is None:
        return None
    for k in ("id", "format"):
        if not meta.get(k):
            raise ValueError(f"{path}: front matter lacks {k!r}")
    meta["format"] = meta["format"].lower()
    if meta["format"] not in EXT:
        raise ValueError(f"{path}: unknown format {meta['format']!r}")
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", meta["id"]):
        warn(f"{path}: id {meta['id']!r} is not lower-case ascii")
    footdefs = {}
    blocks = parse_body(body, footdefs)
    notes, order = renumber(blocks, footdefs, meta["id"])
    return Doc(Path(path), meta, blocks, notes, order)


def yes(v, default=False):
    if v is None or v == "":
        return default
    return str(v).strip().lower() in ("yes", "y", "true", "1", "ja")


# ---------------------------------------------------------------------------
# Truth
# ---------------------------------------------------------------------------

def heading_entries(doc):
    out = []
    for b in walk_blocks(doc.blocks):
        if b["kind"] == "heading":
            out.append({"level": b["level"], "number": b["number"],
                        "text": norm_ws(segs_plain(b["segs"]))})
    return out


def count_kind(doc, kind):
    return sum(1 for b in walk_blocks(doc.blocks) if b["kind"] == kind)


def check_doc(doc):
    """Warnings for things the corpus writers probably want to fix."""
    m = doc.meta
    for k in ("doc_type", "title", "date", "issuer"):
        if not m.get(k):
            warn(f"{doc.id}: front matter lacks {k!r}")
    chunks = [m.get("header", "").replace("|", " ")]
    for b in walk_blocks(doc.blocks):
        for segs in block_segs(b):
            chunks.append(segs_plain(segs))
        if b["kind"] == "heading" and b["number"]:
            chunks.append(b["number"])
    full = re.sub(r"\s+", " ", " ".join(chunks)).lower()
    for k in ("title", "issuer"):
        v = m.get(k)
        if v and re.sub(r"\s+", " ", v).lower() not in full:
            warn(f"{doc.id}: {k} {v!r} does not appear verbatim in the text")
    d = m.get("date")
    if d:
        ok = d in full
        try:
            dd = _dt.date.fromisoformat(d)
            months = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
                      "september", "oktober", "november", "december"]
            ok = ok or f"{dd.day} {months[dd.month - 1]} {dd.year}" in full
        except ValueError:
            warn(f"{doc.id}: date {d!r} is not ISO yyyy-mm-dd")
        if not ok:
            warn(f"{doc.id}: date {d!r} does not appear in the text")
    if m.get("format") in ("pdf", "scan"):
        cmap = vera_cmap()
        text = " ".join(chunks) + " ".join(segs_plain(v) for v in doc.footnotes.values())
        missing = sorted({ch for ch in text if ord(ch) > 31 and ord(ch) not in cmap})
        if missing:
            warn(f"{doc.id}: characters without a glyph in the Vera fonts (will render as boxes): "
                 + " ".join(f"{c!r}(U+{ord(c):04X})" for c in missing))
    for b in walk_blocks(doc.blocks):
        if b["kind"] == "heading" and b["number"] and b["number"].count(".") + 1 != b["level"]:
            warn(f"{doc.id}: heading {b['number']} has level {b['level']}")


# ---------------------------------------------------------------------------
# PDF rendering (reportlab)
# ---------------------------------------------------------------------------

_VERA_CMAP = None


def vera_cmap():
    """Code points present in all four Vera faces."""
    global _VERA_CMAP
    if _VERA_CMAP is None:
        import reportlab
        from reportlab.pdfbase.ttfonts import TTFontFile
        fd = Path(reportlab.__file__).parent / "fonts"
        sets = [set(TTFontFile(str(fd / f)).charToGlyph) for f in ("Vera.ttf", "VeraBd.ttf", "VeraIt.ttf", "VeraBI.ttf")]
        _VERA_CMAP = set.intersection(*sets)
    return _VERA_CMAP

_RL_READY = False


def rl_setup():
    global _RL_READY
    if _RL_READY:
        return
    import reportlab
    from reportlab import rl_config
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    rl_config.invariant = 1
    fd = Path(reportlab.__file__).parent / "fonts"
    for name, fn in (("Vera", "Vera.ttf"), ("VeraBd", "VeraBd.ttf"),
                     ("VeraIt", "VeraIt.ttf"), ("VeraBI", "VeraBI.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(fd / fn)))
    addMapping("Vera", 0, 0, "Vera")
    addMapping("Vera", 1, 0, "VeraBd")
    addMapping("Vera", 0, 1, "VeraIt")
    addMapping("Vera", 1, 1, "VeraBI")
    for f in ("VeraBd", "VeraIt", "VeraBI"):
        addMapping(f, 0, 0, f)
    addMapping("VeraBd", 0, 1, "VeraBI")
    addMapping("VeraBd", 1, 0, "VeraBd")
    addMapping("VeraBd", 1, 1, "VeraBI")
    addMapping("VeraIt", 1, 0, "VeraBI")
    addMapping("VeraIt", 0, 1, "VeraIt")
    addMapping("VeraIt", 1, 1, "VeraBI")
    _RL_READY = True


# Swedish compound-boundary guesses for hyphenation (first elements incl. linking -s,
# and last elements).  Only used to choose *where* a long word may break at a line end.
SV_PREFIXES = """
arbetsmarknads bistånds bosättnings bostads bostadssociala boende befolknings barn
ekonomi familje flyttnings förvaltnings försörjnings handläggnings handläggar hemlöshets hyres
informations inflyttnings kammar kommun kommunal kommunöverskridande kostnads landstings
lägenhets läns länsstyrelsens länsstyrelse missbruks mottagnings myndighets målgrupps
nyanlända prövnings regerings riksdags samverkans samordnings sekretess social socialtjänst
socialtjänstens socialnämndens stöd tillstånds uppföljnings utflyttnings utrednings
verksamhets ansvars överenskommelse förvaltningsrätten förvaltningsrättens kammarrätten
kammarrättens""".split()
SV_SUFFIXES = """
marknaden marknad nämnden nämnder nämnd lagen lagstiftningen stödet stöd tjänsten tjänst
kommunen kommunerna kommuner styrelsen styrelserna rätten rättens domstolen frågor frågorna
området områden boendet arbetet ansvaret ansvar överföring överföringen situationen
handläggare handläggarna lägenheter lägenheten lägenhet beslutet beslut kontrakt kontrakten
hushållen hushåll familjer familjerna prövning prövningen ärenden ärendet bidrag rutiner rutinen
rutin kostnader flyttar flytten flytt insatser insatsen verksamheten samverkan mottagande
mottagandet överenskommelsen överenskommelse medverkan utredningen utredning principen
bestämmelsen bestämmelser""".split()
SV_PREFIXES.sort(key=len, reverse=True)
SV_SUFFIXES.sort(key=len, reverse=True)
VOWELS = set("aeiouyåäöéAEIOUYÅÄÖÉ")


def sv_hyphenate(word):
    """reportlab hyphenator callable: yields (head, tail) pairs, longest head first."""
    n = len(word)
    if n < 12 or not word.isalpha():
        return
    lw = word.lower()
    cands = set()
    for p in SV_PREFIXES:
        if lw.startswith(p) and n - len(p) >= 4 and len(p) >= 4:
            cands.add(len(p))
    for s in SV_SUFFIXES:
        if lw.endswith(s) and n - len(s) >= 4 and len(s) >= 4:
            cands.add(n - len(s))
    if not cands and n >= 15:
        for i in range(4, n - 4):
            if lw[i] not in VOWELS and lw[i + 1] in VOWELS:
                if lw[i] == "s" and lw[i - 1] not in VOWELS:
                    cands.add(i + 1)          # linking s stays with the first part
                else:
                    cands.add(i)
    for i in sorted(cands, reverse=True):
        if 4 <= i <= n - 4:
            yield word[:i], word[i:]


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PdfTheme:
    def __init__(self, meta):
        from reportlab.lib.enums import TA_JUSTIFY, TA_LEFT
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.pagesizes import A4
        self.page_w, self.page_h = A4
        self.ml = self.mr = 70.0
        self.mt = 76.0
        self.mb = 72.0
        self.W = self.page_w - self.ml - self.mr
        self.H = self.page_h - self.mt - self.mb
        dt = meta.get("doc_type", "other")
        justify_default = dt in ("agency_report", "county_report", "government_decision", "municipal_review")
        align = meta.get("align", "justify" if justify_default else "left").lower()
        al = TA_JUSTIFY if align.startswith("j") else TA_LEFT
        hyph = yes(meta.get("hyphenate"), default=justify_default)
        self.fn_super = meta.get("footnote_number", "plain" if dt in ("court_ruling", "government_decision") else "super").lower().startswith("s")
        hy = dict(hyphenationLang=sv_hyphenate, hyphenationMinWordLength=12) if hyph else dict(hyphenationLang="")
        self.body_size = 10.5
        # heading sizes (level 1, 2, 3); court rulings use modest headings like real domar
        hsz = (13, 11.5, 10.5) if dt == "court_ruling" else (16, 13, 11)
        tsz = 14 if dt in ("court_ruling", "press_release") else 20   # title label on page 1
        base = ParagraphStyle("body", fontName="Vera", fontSize=10.5, leading=14.5, alignment=al,
                              spaceBefore=0, spaceAfter=7, allowWidows=0, allowOrphans=0, **hy)
        self.s = {
            "body": base,
            "label": ParagraphStyle("label", parent=base, fontName="VeraBd", alignment=TA_LEFT,
                                    spaceBefore=9, spaceAfter=3, hyphenationLang=""),
            "h1": ParagraphStyle("h1", parent=base, fontName="VeraBd", fontSize=hsz[0], leading=hsz[0] + 4,
                                 alignment=TA_LEFT, spaceBefore=20, spaceAfter=8, hyphenationLang=""),
            "h2": ParagraphStyle("h2", parent=base, fontName="VeraBd", fontSize=hsz[1], leading=hsz[1] + 4,
                                 alignment=TA_LEFT, spaceBefore=15, spaceAfter=6, hyphenationLang=""),
            "h3": ParagraphStyle("h3", parent=base, fontName="VeraBd" if dt != "court_ruling" else "VeraBI", fontSize=hsz[2], leading=hsz[2] + 4,
                                 alignment=TA_LEFT, spaceBefore=11, spaceAfter=4, hyphenationLang=""),
            "h4": ParagraphStyle("h4", parent=base, fontName="VeraBI", fontSize=10.5, leading=14.5,
                                 alignment=TA_LEFT, spaceBefore=9, spaceAfter=3, hyphenationLang=""),
            "quote": ParagraphStyle("quote", parent=base, fontName="VeraIt", fontSize=10, leading=14,
                                    leftIndent=34, rightIndent=34, alignment=TA_LEFT,
                                    spaceBefore=4, spaceAfter=8),
            "item": ParagraphStyle("item", parent=base, leftIndent=18, bulletIndent=5,
                                   bulletFontName="Vera", bulletFontSize=10.5,
                                   spaceBefore=0, spaceAfter=3, alignment=TA_LEFT),
            "cell": ParagraphStyle("cell", fontName="Vera", fontSize=9, leading=11.5, hyphenationLang=""),
            "cellh": ParagraphStyle("cellh", fontName="VeraBd", fontSize=9, leading=11.5, hyphenationLang=""),
            "box": ParagraphStyle("boxp", parent=base, fontSize=10, leading=13.5, spaceAfter=4,
                                  alignment=TA_LEFT, hyphenationLang=""),
            "boxlabel": ParagraphStyle("boxlabel", parent=base, fontName="VeraBd", fontSize=10, leading=13.5,
                                       spaceAfter=1, alignment=TA_LEFT, hyphenationLang=""),
            "fn": ParagraphStyle("fn", fontName="Vera", fontSize=8.2, leading=10, alignment=TA_LEFT,
                                 leftIndent=0 if self.fn_super else 11, bulletIndent=0,
                                 bulletFontName="Vera", bulletFontSize=8.2, hyphenationLang=""),
            "hdr": ParagraphStyle("hdr", fontName="Vera", fontSize=8.5, leading=10),
            "title": ParagraphStyle("title", parent=base, fontName="VeraBd", fontSize=tsz, leading=tsz * 1.25,
                                    alignment=TA_LEFT, spaceBefore=tsz * 0.8, spaceAfter=tsz * 0.6,
                                    hyphenationLang=""),
        }


def segs_markup(segs, fsize):
    out = []
    for sg in segs:
        if sg[0] == "fn":
            out.append('<super size="%.1f" rise="%.2f">%d</super>' % (fsize * 0.64, fsize * 0.34, sg[1]))
            continue
        _, t, b, i = sg
        t = esc(t).replace("\n", "<br/>")
        if i:
            t = "<i>%s</i>" % t
        if b:
            t = "<b>%s</b>" % t
        out.append(t)
    return "".join(out)


def seg_marks(segs):
    return tuple(sg[1] for sg in segs if sg[0] == "fn")


class El:
    """A layout element: one flowable plus spacing/keep information."""

    def __init__(self, fl, sb=0.0, sa=0.0, keep=False, split=True, kind="flow", heading=None):
        self.fl, self.sb, self.sa, self.keep, self.split, self.kind = fl, sb, sa, keep, split, kind
        self.heading = heading


def make_para(text, style, marks=()):
    from reportlab.platypus import Paragraph
    p = Paragraph(text, style)
    p._tm_marks = tuple(marks)
    return p


def build_table(b, th, width, in_box=False):
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Table, TableStyle
    rows = b["rows"]
    ncol = len(rows[0])
    numeric = []
    for c in range(ncol):
        vals = [norm_ws(segs_plain(r[c])) for r in rows[1:]]
        numeric.append(bool(vals) and all(re.fullmatch(r"[\d\s\u00a0,.%–+−-]*", v) and not re.search(r"\d-\d\d-\d", v)
                                          for v in vals if v)
                       and any(v for v in vals))
    cs, chs = th.s["cell"], th.s["cellh"]
    csr = ParagraphStyle("cellr", parent=cs, alignment=TA_RIGHT)
    data = []
    nat = [0.0] * ncol
    minw = [0.0] * ncol
    for ri, r in enumerate(rows):
        line = []
        for c, segs in enumerate(r):
            st = chs if ri == 0 else (csr if numeric[c] else cs)
            p = make_para(segs_markup(segs, 9), st, seg_marks(segs))
            line.append(p)
            txt = segs_plain(segs)
            font = "VeraBd" if ri == 0 else "Vera"
            nat[c] = max(nat[c], stringWidth(txt, font, 9) + 12)
            for wd in txt.split() or [""]:
                minw[c] = max(minw[c], stringWidth(wd, font, 9) + 12)
        data.append(line)
    nat = [max(n_, m_) for n_, m_ in zip(nat, minw)]
    target = width * 0.75 if (ncol <= 3 and sum(nat) <= width * 0.75) else width
    if sum(nat) <= target:
        # everything fits on one line per cell: spread the spare width proportionally
        colw = [n_ * target / sum(nat) for n_ in nat]
    elif sum(minw) >= target:
        colw = [m_ * target / sum(minw) for m_ in minw]
    else:
        # every column gets its longest word; the rest goes to the columns with long text
        spare = target - sum(minw)
        need = [n_ - m_ for n_, m_ in zip(nat, minw)]
        colw = [m_ + spare * nd / sum(need) for m_, nd in zip(minw, need)]
    t = Table(data, colWidths=colw, repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.Color(0.25, 0.25, 0.25)),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
    ]))
    return t


CAPTION_RE = re.compile(r"^(Tabell|Figur|Diagram|Tab\.)\s*\d", re.I)


def block_elements(b, th, width, in_box=False, title_block=False):
    """Translate a parsed block into layout elements."""
    s = th.s
    k = b["kind"]
    if title_block:
        st = s["title"]
        return [El(make_para(segs_markup(b["segs"], st.fontSize), st, seg_marks(b["segs"])),
                   st.spaceBefore, st.spaceAfter, keep=True, split=False)]
    if k == "pagebreak":
        return [El(None, kind="pagebreak")]
    if k == "heading":
        lvl = min(b["level"], 4)
        st = s["h%d" % lvl]
        txt = segs_markup(b["segs"], st.fontSize)
        if b["number"]:
            txt = esc(b["number"]) + " " + txt
        return [El(make_para(txt, st, seg_marks(b["segs"])), st.spaceBefore, st.spaceAfter,
                   keep=True, split=False, heading=b)]
    if k == "label":
        st = s["boxlabel"] if in_box else s["label"]
        return [El(make_para(segs_markup(b["segs"], st.fontSize), st, seg_marks(b["segs"])),
                   st.spaceBefore, st.spaceAfter, keep=True, split=False)]
    if k == "para":
        st = s["box"] if in_box else s["body"]
        return [El(make_para(segs_markup(b["segs"], st.fontSize), st, seg_marks(b["segs"])),
                   st.spaceBefore, st.spaceAfter)]
    if k == "quote":
        st = s["quote"]
        out = []
        for j, segs in enumerate(b["paras"]):
            out.append(El(make_para(segs_markup(segs, st.fontSize), st, seg_marks(segs)),
                          8 if j == 0 else 2, st.spaceAfter if j == len(b["paras"]) - 1 else 4))
        return out
    if k == "item":
        from reportlab.lib.styles import ParagraphStyle
        st = s["item"]
        extra = 18 * (b["level"] - 1)
        if b["list"] == "number":
            bullet = b["num"] + "."
            st = ParagraphStyle("itemn", parent=st, leftIndent=st.leftIndent + 4 + extra,
                                bulletIndent=st.bulletIndent - 2 + extra)
        else:
            bullet = "\u2022" if b["level"] == 1 else "\u2013"
            if extra:
                st = ParagraphStyle("item2", parent=st, leftIndent=st.leftIndent + extra,
                                    bulletIndent=st.bulletIndent + extra)
        if in_box:
            st = ParagraphStyle("itembox", parent=st, fontSize=10, leading=13.5)
        p = make_para(segs_markup(b["segs"], st.fontSize), st, seg_marks(b["segs"]))
        p.bulletText = bullet
        e = El(p, 3, st.spaceAfter)
        e.is_item = True
        return [e]
    if k == "table":
        t = build_table(b, th, width, in_box)
        # short tables are kept on one page; long ones split between rows (header repeated)
        return [El(t, 8, 10, split=len(b["rows"]) > 10)]
    if k == "box":
        return [El(build_box(b, th, width), 10, 12)]
    raise ValueError(k)


def build_box(b, th, width):
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle
    pad = 9
    inner_w = width - 2 * pad
    els = []
    for sub in b["blocks"]:
        if sub["kind"] == "pagebreak":
            continue
        els.extend(block_elements(sub, th, inner_w, in_box=True))
    rows = [[e.fl] for e in els]
    if not rows:
        rows = [[""]]
    cmds = [("BOX", (0, 0), (-1, -1), 0.8, colors.Color(0.2, 0.2, 0.2)),
            ("LEFTPADDING", (0, 0), (-1, -1), pad), ("RIGHTPADDING", (0, 0), (-1, -1), pad),
            ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ("VALIGN", (0, 0), (-1, -1), "TOP")]
    prev = None
    for r, e in enumerate(els):
        gap = pad if r == 0 else max(prev.sa, e.sb if e.fl is not None else 0)
        cmds.append(("TOPPADDING", (0, r), (0, r), gap))
        prev = e
    cmds.append(("BOTTOMPADDING", (0, len(rows) - 1), (0, len(rows) - 1), pad))
    t = Table(rows, colWidths=[width], hAlign="LEFT")
    t.setStyle(TableStyle(cmds))
    return t


def para_marks(p):
    """Footnote numbers whose superscript mark is inside this (wrapped) Paragraph."""
    bl = getattr(p, "blPara", None)
    if bl is None:
        return tuple(getattr(p, "_tm_marks", ()))
    out = []
    if bl.kind == 1:
        for line in bl.lines:
            for f in getattr(line, "words", ()):
                if getattr(f, "rise", 0) > 0 and getattr(f, "text", "").strip().isdigit():
                    out.append(int(f.text.strip()))
    return tuple(out)


def flow_marks(fl):
    from reportlab.platypus import Paragraph, Table
    if isinstance(fl, Paragraph):
        return para_marks(fl)
    if isinstance(fl, Table):
        out = []
        for row in fl._cellvalues:
            for cell in row:
                items = cell if isinstance(cell, (list, tuple)) else [cell]
                for it in items:
                    if isinstance(it, Table):
                        out.extend(flow_marks(it))
                    else:
                        out.extend(getattr(it, "_tm_marks", ()))
        return tuple(out)
    return ()


class Page:
    def __init__(self):
        self.items = []     # (flowable, y_top_offset, height)
        self.fns = []       # footnote numbers placed on this page
        self.used = 0.0
        self.last_sa = 0.0


class PdfLayout:
    BIG = 10000

    def __init__(self, doc, th):
        self.doc, self.th = doc, th
        self.fn_paras = {}
        for n in doc.fn_order:
            segs = doc.footnotes[n]
            st = th.s["fn"]
            if th.fn_super:
                txt = '<super size="5.6" rise="2.9">%d</super> %s' % (n, segs_markup(segs, st.fontSize))
                p = make_para(txt, st)
            else:
                p = make_para(segs_markup(segs, st.fontSize), st)
                p.bulletText = str(n)
            p.wrap(th.W, self.BIG)
            self.fn_paras[n] = p
        self.fn_page = {}
        self.heading_page = []

    def fn_area(self, fns):
        if not fns:
            return 0.0
        return 14.0 + sum(self.fn_paras[n].height + 2.5 for n in fns)

    def run(self):
        from reportlab.platypus import Table
        th = self.th
        W, H = th.W, th.H
        els = []
        blocks = self.doc.blocks
        for bi, b in enumerate(blocks):
            new = block_elements(b, th, W, title_block=(bi == self.doc.title_block))
            if (b["kind"] == "para" and bi + 1 < len(blocks) and blocks[bi + 1]["kind"] in ("table", "box")
                    and CAPTION_RE.match(segs_plain(b["segs"]))):
                new[-1].keep = True         # table caption stays with its table
                new[-1].split = False
            if els and getattr(els[-1], "is_item", False) and not (new and getattr(new[0], "is_item", False)):
                els[-1].sa = max(els[-1].sa, 8)
            els.extend(new)
        pages = [Page()]
        placed_fns = set()
        queue = els

        def new_page():
            pages.append(Page())

        def new_fns(marks, pg):
            out = []
            for m in marks:
                if m not in placed_fns and m not in pg.fns and m not in out and m in self.fn_paras:
                    out.append(m)
            return out

        def place(pg, fl, gap, h, el, fns):
            pg.items.append((fl, pg.used + gap, h))
            pg.used += gap + h
            pg.last_sa = el.sa
            for m in fns:
                pg.fns.append(m)
                placed_fns.add(m)
                self.fn_page[m] = len(pages)
            if el.heading is not None and fl is el.fl:
                self.heading_page.append(len(pages))

        def min_follow(idx):
            """Height that must fit after a keep-with-next element at queue[idx]."""
            need = 0.0
            j = idx + 1
            while j < len(queue):
                e = queue[j]
                if e.kind == "pagebreak":
                    return need
                w_, h_ = e.fl.wrap(W, self.BIG)
                need += e.sb
                if e.keep:
                    need += h_ + e.sa
                    j += 1
                    continue
                from reportlab.platypus import Paragraph
                if isinstance(e.fl, Paragraph) and e.split:
                    need += min(h_, 2 * e.fl.style.leading + 1)
                elif e.split:
                    need += min(h_, 60)
                else:
                    need += h_
                return need
            return need

        i = 0
        while i < len(queue):
            el = queue[i]
            pg = pages[-1]
            if el.kind == "pagebreak":
                if pg.items:
                    new_page()
                i += 1
                continue
            fl = el.fl
            gap = 0.0 if not pg.items else max(pg.last_sa, el.sb)
            w, h = fl.wrap(W, self.BIG)
            fns = new_fns(flow_marks(fl), pg)
            extra = min_follow(i) if el.keep else 0.0
            if pg.used + gap + h + extra + self.fn_area(pg.fns + fns) <= H + 0.01:
                place(pg, fl, gap, h, el, fns)
                i += 1
                continue
            if el.keep and pg.items and pg.used + gap + h + self.fn_area(pg.fns + fns) <= H + 0.01 \
                    and extra > H * 0.5:
                # following block is huge anyway: do not push the heading alone
                place(pg, fl, gap, h, el, fns)
                i += 1
                continue
            done = False
            if el.split and not el.keep:
                avail = min(H - pg.used - gap - self.fn_area(pg.fns), h - 0.5)
                for _ in range(40):
                    if avail < 12:
                        break
                    parts = fl.split(W, avail)
                    if not parts or len(parts) < 2:
                        break
                    first = parts[0]
                    if isinstance(first, Table) and (len(first._cellvalues) < 4 or len(parts[-1]._cellvalues) < 3):
                        break           # no table part with fewer than 3 body rows (2 in the rest)
                    w1, h1 = first.wrap(W, self.BIG)
                    f1 = new_fns(flow_marks(first), pg)
                    total = pg.used + gap + h1 + self.fn_area(pg.fns + f1)
                    if total <= H + 0.01:
                        place(pg, first, gap, h1, el, f1)
                        rest = [El(p, 0.0, el.sa, el.keep, el.split) for p in parts[1:]]
                        queue[i:i + 1] = rest
                        new_page()
                        done = True
                        break
                    avail -= (total - H) + 0.5
                    fl.wrap(W, self.BIG)
            if done:
                continue
            if not pg.items:
                if h + self.fn_area(fns) > H:
                    warn(f"{self.doc.id}: block taller than a page, placed anyway on page {len(pages)}")
                place(pg, fl, 0.0, h, el, fns)
                i += 1
                continue
            new_page()
        if not pages[-1].items and len(pages) > 1:
            pages.pop()
        self.pages = pages
        return pages


def fmt_pn(pattern, n, total):
    return pattern.replace("{n}", str(n)).replace("{total}", str(total))


def render_pdf_bytes(doc):
    rl_setup()
    from reportlab.pdfgen import canvas
    th = PdfTheme(doc.meta)
    lay = PdfLayout(doc, th)
    pages = lay.run()
    total = len(pages)
    m = doc.meta
    header_parts = [p.strip() for p in m.get("header", "").split("|")] if m.get("header") else []
    footer_parts = [p.strip() for p in m.get("footer", "").split("|")] if m.get("footer") else []
    pn = m.get("page_numbers", "{n}")
    if pn.strip().lower() in ("none", "no", "-"):
        pn = ""
    header_first = yes(m.get("header_first"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(th.page_w, th.page_h), invariant=1, pageCompression=1)
    c.setTitle("textmine demo")
    c.setAuthor("")
    c.setSubject("")
    c.setCreator("textmine corpus renderer")
    top = th.page_h - th.mt
    for pno, pg in enumerate(pages, start=1):
        # running header
        if header_parts and (pno > 1 or header_first):
            c.setFont("Vera", 8.5)
            c.setFillGray(0.15)
            y = th.page_h - 44
            parts = [fmt_pn(p, pno, total) for p in header_parts]
            if len(parts) >= 1 and parts[0]:
                c.drawString(th.ml, y, parts[0])
            if len(parts) == 2 and parts[1]:
                c.drawRightString(th.page_w - th.mr, y, parts[1])
            if len(parts) >= 3:
                if parts[1]:
                    c.drawCentredString(th.page_w / 2, y, parts[1])
                if parts[2]:
                    c.drawRightString(th.page_w - th.mr, y, " ".join(parts[2:]))
            c.setLineWidth(0.4)
            c.setStrokeGray(0.3)
            c.line(th.ml, y - 5, th.page_w - th.mr, y - 5)
            c.setFillGray(0)
            c.setStrokeGray(0)
        # footer
        fy = 38
        if footer_parts:
            c.setFont("Vera", 7.2)
            c.setFillGray(0.2)
            c.setLineWidth(0.4)
            c.line(th.ml, fy + 12, th.page_w - th.mr, fy + 12)
            parts = [fmt_pn(p, pno, total) for p in footer_parts]
            xs = [th.ml, th.page_w / 2, th.page_w - th.mr]
            for k, txt in enumerate(parts[:3]):
                if not txt:
                    continue
                if k == 0:
                    c.drawString(xs[0], fy, txt)
                elif k == 1 and len(parts) >= 3:
                    c.drawCentredString(xs[1], fy, txt)
                else:
                    c.drawRightString(xs[2], fy, txt)
            c.setFillGray(0)
            if pn:
                c.setFont("Vera", 8.5)
                c.drawRightString(th.page_w - th.mr, fy + 18, fmt_pn(pn, pno, total))
        elif pn:
            c.setFont("Vera", 9)
            c.drawCentredString(th.page_w / 2, fy, fmt_pn(pn, pno, total))
        # body
        for fl, off, h in pg.items:
            fl.drawOn(c, th.ml, top - off - h)
        # footnotes, stacked upwards from the bottom margin
        if pg.fns:
            y = th.mb
            for n in reversed(sorted(pg.fns)):
                p = lay.fn_paras[n]
                p.drawOn(c, th.ml, y)
                y += p.height + 2.5
            y += 4
            c.setLineWidth(0.5)
            c.line(th.ml, y, th.ml + 120, y)
        c.showPage()
    c.save()
    return buf.getvalue(), lay


# ---------------------------------------------------------------------------
# Scan rendering
# ---------------------------------------------------------------------------

FIXED_TIME = (2024, 1, 15, 9, 0, 0)


def render_scan_bytes(doc, pdf_bytes):
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw, ImageFilter, ImageChops
    import time as _time
    seed = int(hashlib.sha256(doc.id.encode()).hexdigest()[:12], 16)
    rng = random.Random(seed)
    pdf = pdfium.PdfDocument(pdf_bytes)
    imgs = []
    for i in range(len(pdf)):
        page = pdf[i]
        bm = page.render(scale=300 / 72, grayscale=True)
        im = bm.to_pil().convert("L")
        page.close()
        W, H = im.size
        # paper tone and slightly weaker toner
        im = im.point(lambda v: int(18 + v * (243 - 18) / 255))
        # soften like a copier
        im = im.filter(ImageFilter.GaussianBlur(0.6))
        # rotation
        ang = rng.uniform(0.3, 0.6) * rng.choice((-1, 1))
        im = im.rotate(ang, resample=Image.BICUBIC, expand=False, fillcolor=243,
                       translate=(rng.uniform(-12, 12), rng.uniform(-10, 10)))
        # faint copier border / shadow along the edges
        d = ImageDraw.Draw(im)
        inset = rng.randint(6, 16)
        g = rng.randint(175, 200)
        d.rectangle([inset, inset, W - inset, H - inset], outline=g, width=rng.randint(2, 4))
        shade_side = rng.choice(("left", "right"))
        for k in range(26):
            val = int(150 + k * (243 - 150) / 26)
            x = k if shade_side == "left" else W - 1 - k
            d.line([(x, 0), (x, H)], fill=val)
        for k in range(10):
            val = int(190 + k * 5)
            d.line([(0, k), (W, k)], fill=min(val, 243))
        # dust speckles and a few toner spots
        for _ in range(rng.randint(120, 220)):
            x, y = rng.randrange(W), rng.randrange(H)
            r = rng.choice((1, 1, 1, 1, 2, 2, 3))
            d.ellipse([x, y, x + r, y + r], fill=rng.randint(60, 170))
        # light grain: tiled deterministic noise, small amplitude
        tile = Image.frombytes("L", (256, 256), bytes(rng.getrandbits(8) for _ in range(256 * 256)))
        tile = tile.point(lambda v: 128 + (v - 128) // 48)
        noise = Image.new("L", (W, H))
        for ty in range(0, H, 256):
            for tx in range(0, W, 256):
                noise.paste(tile, (tx, ty))
        im = ImageChops.add(im, noise, scale=1.0, offset=-128)
        imgs.append(im)
    pdf.close()
    # JPEG quality ~70, lowered (not below 50) until every page is < 400 kB
    quality = 70
    while quality > 50:
        biggest = 0
        for im in imgs:
            b = io.BytesIO()
            im.save(b, "JPEG", quality=quality, optimize=True)
            biggest = max(biggest, len(b.getvalue()))
        if biggest < 400_000:
            break
        quality -= 5
    out = io.BytesIO()
    ts = _time.struct_time(FIXED_TIME + (0, 15, 0))
    imgs[0].save(out, "PDF", resolution=300, save_all=True, append_images=imgs[1:], quality=quality,
                 optimize=True, title="", author="", creator="", producer="", creationDate=ts, modDate=ts)
    return out.getvalue()


# ---------------------------------------------------------------------------
# DOCX rendering (python-docx)
# ---------------------------------------------------------------------------

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
# successors of w:pBdr inside w:pPr (schema order matters to Word)
PBDR_SUCCESSORS = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
                   "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi",
                   "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
                   "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
                   "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
                   "w:pPrChange")


def render_docx_bytes(doc):
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor
    m = doc.meta
    real_fn = (m.get("docx_footnotes", "real").lower() != "end") and bool(doc.fn_order)
    d = docx.Document()
    sec = d.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.5)
    sec.top_margin, sec.bottom_margin = Cm(2.5), Cm(2.5)
    text_w = Cm(16.0)
    st = d.styles
    st["Normal"].font.name = "Times New Roman"
    st["Normal"].font.size = Pt(11.5)
    st["Normal"].paragraph_format.space_after = Pt(6)
    for lv, sz in ((1, 16), (2, 13), (3, 11.5)):
        hs = st["Heading %d" % lv]
        hs.font.name = "Arial"
        hs.font.size = Pt(sz)
        hs.font.color.rgb = RGBColor(0, 0, 0)
        hs.font.bold = True
        hs.font.italic = False
    q = st["Quote"]
    q.font.italic = True
    q.font.color.rgb = RGBColor(0x20, 0x20, 0x20)
    q.paragraph_format.left_indent = Cm(1.2)
    q.paragraph_format.right_indent = Cm(1.2)
    hdr_style = st["Header"]
    hdr_style.paragraph_format.tab_stops.clear_all()
    hdr_style.font.size = Pt(8.5)
    if real_fn:
        fts = st.add_style("Footnote Text", WD_STYLE_TYPE.PARAGRAPH)
        fts.base_style = st["Normal"]
        fts.font.size = Pt(9)
        fts.paragraph_format.space_after = Pt(0)
        frs = st.add_style("Footnote Reference", WD_STYLE_TYPE.CHARACTER)
        frs.font.superscript = True

    # numbering restart support for "List Number"
    numbering = d.part.numbering_part.element
    ln_style = st["List Number"]
    numpr = ln_style.element.find(qn("w:pPr") + "/" + qn("w:numPr"))
    base_num_id = numpr.find(qn("w:numId")).get(qn("w:val")) if numpr is not None else None
    abstract_id = None
    if base_num_id is not None:
        for num in numbering.findall(qn("w:num")):
            if num.get(qn("w:numId")) == base_num_id:
                abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
    next_num_id = [max([int(x.get(qn("w:numId"))) for x in numbering.findall(qn("w:num"))] + [0]) + 1]

    def new_list_num(start):
        if abstract_id is None:
            return None
        num = OxmlElement("w:num")
        num.set(qn("w:numId"), str(next_num_id[0]))
        a = OxmlElement("w:abstractNumId")
        a.set(qn("w:val"), abstract_id)
        num.append(a)
        ov = OxmlElement("w:lvlOverride")
        ov.set(qn("w:ilvl"), "0")
        so = OxmlElement("w:startOverride")
        so.set(qn("w:val"), str(start))
        ov.append(so)
        num.append(ov)
        numbering.append(num)
        next_num_id[0] += 1
        return next_num_id[0] - 1

    used_refs = set()

    def add_runs(par, segs, bold=None, italic=None):
        for sg in segs:
            if sg[0] == "fn":
                n = sg[1]
                if real_fn and n not in used_refs:
                    used_refs.add(n)
                    r = OxmlElement("w:r")
                    rpr = OxmlElement("w:rPr")
                    rs = OxmlElement("w:rStyle")
                    rs.set(qn("w:val"), "FootnoteReference")
                    rpr.append(rs)
                    r.append(rpr)
                    fr = OxmlElement("w:footnoteReference")
                    fr.set(qn("w:id"), str(n))
                    r.append(fr)
                    par._p.append(r)
                else:
                    run = par.add_run(str(n))
                    run.font.superscript = True
                continue
            _, t, b, i = sg
            chunks = t.split("\n")
            for k, ch in enumerate(chunks):
                if k:
                    par.add_run().add_break()
                if ch:
                    run = par.add_run(ch)
                    if b or bold:
                        run.bold = True
                    if i or italic:
                        run.italic = True

    def set_cell_shading(cell, fill):
        tcPr = cell._tc.get_or_add_tcPr()
        shd = OxmlElement("w:shd")
        shd.set(qn("w:val"), "clear")
        shd.set(qn("w:color"), "auto")
        shd.set(qn("w:fill"), fill)
        tcPr.append(shd)

    def para_border(par):
        pPr = par._p.get_or_add_pPr()
        bdr = OxmlElement("w:pBdr")
        for side in ("top", "left", "bottom", "right"):
            e = OxmlElement("w:" + side)
            e.set(qn("w:val"), "single")
            e.set(qn("w:sz"), "6")
            e.set(qn("w:space"), "4")
            e.set(qn("w:color"), "333333")
            bdr.append(e)
        pPr.insert_element_before(bdr, *PBDR_SUCCESSORS)

    state = {"list_num": None, "prev": None}
    title_b = doc.blocks[doc.title_block] if doc.title_block is not None else None
    tstyle = st["Title"]
    tstyle.font.color.rgb = RGBColor(0, 0, 0)
    tstyle.font.size = Pt(20 if m.get("doc_type") not in ("court_ruling", "press_release") else 14)

    def emit(blocks, boxed=False):
        for b in blocks:
            k = b["kind"]
            if k != "item" or b["list"] != "number":
                if k != "item":
                    state["list_num"] = None
            if b is title_b:
                p = d.add_paragraph(style="Title")
                add_runs(p, b["segs"])
            elif k == "pagebreak":
                from docx.enum.text import WD_BREAK
                p = d.add_paragraph()
                p.add_run().add_break(WD_BREAK.PAGE)
            elif k == "heading":
                lvl = min(b["level"], 9)
                p = d.add_paragraph(style="Heading %d" % lvl)
                if b["number"]:
                    p.add_run(b["number"] + " ")
                add_runs(p, b["segs"])
            elif k == "label":
                p = d.add_paragraph()
                add_runs(p, b["segs"], bold=True)
                p.paragraph_format.space_before = Pt(10)
                p.paragraph_format.space_after = Pt(2)
                p.paragraph_format.keep_with_next = True
                if boxed:
                    para_border(p)
            elif k == "para":
                p = d.add_paragraph()
                add_runs(p, b["segs"])
                if boxed:
                    para_border(p)
            elif k == "quote":
                for segs in b["paras"]:
                    p = d.add_paragraph(style="Quote")
                    add_runs(p, segs)
            elif k == "item":
                if b["list"] == "bullet":
                    sty = "List Bullet" if b["level"] == 1 else "List Bullet 2"
                    p = d.add_paragraph(style=sty)
                    state["list_num"] = None
                else:
                    sty = "List Number" if b["level"] == 1 else "List Number 2"
                    p = d.add_paragraph(style=sty)
                    if b["level"] == 1:
                        if state["list_num"] is None:
                            state["list_num"] = new_list_num(int(b["num"]))
                        if state["list_num"] is not None:
                            np_ = p._p.get_or_add_pPr().get_or_add_numPr()
                            np_.get_or_add_ilvl().val = 0
                            np_.get_or_add_numId().val = state["list_num"]
                add_runs(p, b["segs"])
                if boxed:
                    para_border(p)
            elif k == "table":
                rows = b["rows"]
                t = d.add_table(rows=len(rows), cols=len(rows[0]))
                t.style = st["Table Grid"]
                for ri, r in enumerate(rows):
                    for ci, segs in enumerate(r):
                        cell = t.cell(ri, ci)
                        p = cell.paragraphs[0]
                        p.paragraph_format.space_after = Pt(0)
                        add_runs(p, segs, bold=(ri == 0) or None)
                        for run in p.runs:
                            run.font.size = Pt(9.5)
                        if ri == 0:
                            set_cell_shading(cell, "E0E0E0")
                # mark header row as repeating header
                trPr = t.rows[0]._tr.get_or_add_trPr()
                th_ = OxmlElement("w:tblHeader")
                trPr.append(th_)
                d.add_paragraph()
            elif k == "box":
                emit(b["blocks"], boxed=True)
                d.add_paragraph()

    emit(doc.blocks)

    if doc.fn_order and not real_fn:
        d.add_paragraph("Fotnoter", style="Heading 2")
        for n in doc.fn_order:
            p = d.add_paragraph()
            r = p.add_run(str(n))
            r.font.superscript = True
            p.add_run(" ")
            add_runs(p, doc.footnotes[n])
            for run in p.runs:
                run.font.size = Pt(9)

    # header / footer
    header_parts = [x.strip() for x in m.get("header", "").split("|")] if m.get("header") else []
    pn = m.get("page_numbers", "{n}")
    if pn.strip().lower() in ("none", "no", "-"):
        pn = ""
    if not yes(m.get("header_first")):
        sec.different_first_page_header_footer = True

    def add_field(par, instr):
        r = OxmlElement("w:r")
        fc = OxmlElement("w:fldChar")
        fc.set(qn("w:fldCharType"), "begin")
        r.append(fc)
        par._p.append(r)
        r = OxmlElement("w:r")
        it = OxmlElement("w:instrText")
        it.set(qn("xml:space"), "preserve")
        it.text = " %s " % instr
        r.append(it)
        par._p.append(r)
        r = OxmlElement("w:r")
        fc = OxmlElement("w:fldChar")
        fc.set(qn("w:fldCharType"), "separate")
        r.append(fc)
        par._p.append(r)
        par.add_run("1")
        r = OxmlElement("w:r")
        fc = OxmlElement("w:fldChar")
        fc.set(qn("w:fldCharType"), "end")
        r.append(fc)
        par._p.append(r)

    def add_pattern(par, pattern):
        for tok in re.split(r"(\{n\}|\{total\})", pattern):
            if tok == "{n}":
                add_field(par, "PAGE")
            elif tok == "{total}":
                add_field(par, "NUMPAGES")
            elif tok:
                par.add_run(tok)

    def fill_header(hdr):
        p = hdr.paragraphs[0]
        p.paragraph_format.tab_stops.add_tab_stop(Cm(8.0), WD_TAB_ALIGNMENT.CENTER)
        p.paragraph_format.tab_stops.add_tab_stop(text_w, WD_TAB_ALIGNMENT.RIGHT)
        parts = header_parts + [""] * (3 - len(header_parts)) if len(header_parts) != 2 else [header_parts[0], "", header_parts[1]]
        for k, part in enumerate(parts[:3]):
            if k:
                p.add_run("\t")
            add_pattern(p, part)
        pPr = p._p.get_or_add_pPr()
        bdr = OxmlElement("w:pBdr")
        bt = OxmlElement("w:bottom")
        bt.set(qn("w:val"), "single")
        bt.set(qn("w:sz"), "4")
        bt.set(qn("w:space"), "1")
        bt.set(qn("w:color"), "444444")
        bdr.append(bt)
        pPr.insert_element_before(bdr, *PBDR_SUCCESSORS)

    def fill_footer(ftr):
        p = ftr.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        add_pattern(p, pn)

    if header_parts:
        fill_header(sec.header)
        if yes(m.get("header_first")):
            pass
    if pn:
        fill_footer(sec.footer)
        if sec.different_first_page_header_footer:
            fill_footer(sec.first_page_footer)

    if real_fn:
        _add_docx_footnotes(d, doc)

    cp = d.core_properties
    fixed = _dt.datetime(*FIXED_TIME)
    cp.author = ""
    cp.last_modified_by = ""
    cp.title = ""
    cp.subject = ""
    cp.keywords = ""
    cp.comments = ""
    cp.category = ""
    cp.revision = 1
    cp.created = fixed
    cp.modified = fixed
    cp.last_printed = fixed
    buf = io.BytesIO()
    d.save(buf)
    # docProps/app.xml like Word writes it; the page count is estimated with the PDF layout
    pages = len(PdfLayout(doc, PdfTheme(m)).run()) if _rl_ok() else 1
    words = sum(len(segs_plain(segs).split()) for b in walk_blocks(doc.blocks) for segs in block_segs(b))
    chars = sum(len(segs_plain(segs).replace(" ", "")) for b in walk_blocks(doc.blocks) for segs in block_segs(b))
    app = APP_XML.format(pages=pages, words=words, chars=chars, chars_sp=int(chars * 1.17))
    return _normalise_zip(buf.getvalue(), {"docProps/app.xml": app.encode("utf-8")}), pages


def _add_docx_footnotes(d, doc):
    from lxml import etree
    from docx.opc.constants import CONTENT_TYPE as CT, RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    w = "{%s}" % W_NS
    root = etree.Element(w + "footnotes", nsmap={"w": W_NS})
    for fid, kind, tag in ((-1, "separator", "separator"), (0, "continuationSeparator", "continuationSeparator")):
        fn = etree.SubElement(root, w + "footnote")
        fn.set(w + "type", kind)
        fn.set(w + "id", str(fid))
        p = etree.SubElement(fn, w + "p")
        ppr = etree.SubElement(p, w + "pPr")
        sp = etree.SubElement(ppr, w + "spacing")
        sp.set(w + "after", "0")
        sp.set(w + "line", "240")
        sp.set(w + "lineRule", "auto")
        r = etree.SubElement(p, w + "r")
        etree.SubElement(r, w + tag)
    for n in doc.fn_order:
        fn = etree.SubElement(root, w + "footnote")
        fn.set(w + "id", str(n))
        p = etree.SubElement(fn, w + "p")
        ppr = etree.SubElement(p, w + "pPr")
        ps = etree.SubElement(ppr, w + "pStyle")
        ps.set(w + "val", "FootnoteText")
        r = etree.SubElement(p, w + "r")
        rpr = etree.SubElement(r, w + "rPr")
        rs = etree.SubElement(rpr, w + "rStyle")
        rs.set(w + "val", "FootnoteReference")
        etree.SubElement(r, w + "footnoteRef")
        r = etree.SubElement(p, w + "r")
        t = etree.SubElement(r, w + "t")
        t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        t.text = " "
        for sg in doc.footnotes[n]:
            if sg[0] != "t":
                continue
            r = etree.SubElement(p, w + "r")
            if sg[2] or sg[3]:
                rpr = etree.SubElement(r, w + "rPr")
                if sg[2]:
                    etree.SubElement(rpr, w + "b")
                if sg[3]:
                    etree.SubElement(rpr, w + "i")
            t = etree.SubElement(r, w + "t")
            t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            t.text = sg[1]
    blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, blob, d.part.package)
    d.part.relate_to(part, RT.FOOTNOTES)


def _rl_ok():
    rl_setup()
    return True


APP_XML = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    "<Template>Normal.dotm</Template><TotalTime>12</TotalTime><Pages>{pages}</Pages>"
    "<Words>{words}</Words><Characters>{chars}</Characters><Application>Microsoft Office Word</Application>"
    "<DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop><Company></Company>"
    "<LinksUpToDate>false</LinksUpToDate><CharactersWithSpaces>{chars_sp}</CharactersWithSpaces>"
    "<SharedDoc>false</SharedDoc><HyperlinksChanged>false</HyperlinksChanged><AppVersion>16.0000</AppVersion>"
    "</Properties>")


def _normalise_zip(data, replace=None):
    replace = replace or {}
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zi = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zi.create_system = 3
            blob = replace.get(item.filename)
            zout.writestr(zi, blob if blob is not None else zin.read(item.filename))
    return out.getvalue()


# ---------------------------------------------------------------------------
# TXT rendering
# ---------------------------------------------------------------------------

ITEM = "\x00item\x00"


def render_txt_bytes(doc):
    out = []
    fnf = "[{n}]"

    def txt(segs):
        return segs_plain(segs, fnf)

    def emit(blocks, boxed=False):
        for b in blocks:
            k = b["kind"]
            if k == "pagebreak":
                out.append("\f")           # form feed = new page
                continue
            if k == "heading":
                h = ((b["number"] + " ") if b["number"] else "") + txt(b["segs"])
                out.append(h)
            elif k == "label":
                out.append(txt(b["segs"]))
            elif k == "para":
                out.append(txt(b["segs"]))
            elif k == "quote":
                for segs in b["paras"]:
                    out.append("    " + txt(segs))
            elif k == "item":
                ind = "  " * (b["level"] - 1)
                out.append(ITEM + ind + ((b["num"] + ". ") if b["list"] == "number" else "- ") + txt(b["segs"]))
            elif k == "table":
                rows = [[txt(c) for c in r] for r in b["rows"]]
                widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
                lines = ["  ".join(cell.ljust(widths[c]) for c, cell in enumerate(r)).rstrip() for r in rows]
                lines.insert(1, "  ".join("-" * wd for wd in widths))
                out.append("\n".join(lines))
            elif k == "box":
                out.append("-" * 60)
                emit(b["blocks"], True)
                out.append("-" * 60)

    emit(doc.blocks)
    # blank line between blocks; consecutive list items on consecutive lines
    text = ""
    prev = None
    for x in out:
        if x == "\f":
            text = text.rstrip("\n") + "\n\f\n"
            prev = None
            continue
        is_item = x.startswith(ITEM)
        x = x.replace(ITEM, "", 1) if is_item else x
        if prev is not None:
            text += "\n" if (is_item and prev) else "\n\n"
        text += x
        prev = is_item
    text = re.sub(r"\n{3,}", "\n\n", text)
    if doc.fn_order:
        text += "\n\n" + "Fotnoter" + "\n"
        for n in doc.fn_order:
            text += "\n[%d] %s" % (n, segs_plain(doc.footnotes[n]))
    return (text.strip() + "\n").encode("utf-8")


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def render_doc(doc, out_dir):
    fmt = doc.meta["format"]
    rel = "documents/%s.%s" % (doc.id, EXT[fmt])
    dest = out_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    fn_page = {}
    if fmt in ("pdf", "scan"):
        data, lay = render_pdf_bytes(doc)
        pages = len(lay.pages)
        fn_page = lay.fn_page
        if fmt == "scan":
            data = render_scan_bytes(doc, data)
    elif fmt == "docx":
        data, pages = render_docx_bytes(doc)   # pages: estimate, also written to docProps/app.xml
    else:
        data = render_txt_bytes(doc)
        pages = data.count(b"\f") + 1
    tmp = dest.with_suffix(dest.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, dest)
    m = doc.meta
    entry = {
        "id": doc.id,
        "file": rel,
        "format": fmt,
        "doc_type": m.get("doc_type"),
        "title": m.get("title"),
        "date": m.get("date"),
        "issuer": m.get("issuer"),
        "pages": pages,
        "headings": heading_entries(doc),
        "footnotes": [],
        "quotes": count_kind(doc, "quote"),
        "tables": count_kind(doc, "table"),
        "list_items": count_kind(doc, "item"),
        "boxes": count_kind(doc, "box"),
        "source": doc.path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if fmt == "docx" and doc.fn_order and m.get("docx_footnotes", "real").lower() == "end":
        entry["headings"].append({"level": 2, "number": None, "text": "Fotnoter"})
    for n in doc.fn_order:
        fe = {"number": n, "text": norm_ws(segs_plain(doc.footnotes[n]))}
        if fmt in ("pdf", "scan"):
            fe["page"] = fn_page.get(n)
        entry["footnotes"].append(fe)
    return entry


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="ID", help="render only these ids (other truth entries kept)")
    ap.add_argument("--sources", type=Path, default=DEFAULT_SOURCES, help="source dir (default corpus/sources)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT,
                    help="output root: writes OUT/documents/* and OUT/truth.json (default corpus/)")
    ap.add_argument("--prune", action="store_true", help="delete files in OUT/documents that no source produces")
    args = ap.parse_args(argv)

    docs = []
    errors = 0
    for path in sorted(args.sources.glob("*.md")):
        if path.name in SKIP_NAMES:
            continue
        try:
            doc = parse_source(path)
        except Exception as e:  # noqa: BLE001 - report and continue with the others
            print(f"ERROR: {path.name}: {e}", file=sys.stderr)
            errors += 1
            continue
        if doc is None:
            continue
        docs.append(doc)
    ids = {}
    for doc in docs:
        if doc.id in ids:
            print(f"ERROR: duplicate id {doc.id} in {ids[doc.id].name} and {doc.path.name}", file=sys.stderr)
            errors += 1
        ids[doc.id] = doc.path
    if args.only:
        missing = set(args.only) - set(ids)
        for x in sorted(missing):
            print(f"ERROR: --only {x}: no source with that id", file=sys.stderr)
            errors += 1
        docs = [d for d in docs if d.id in set(args.only)]

    out_dir = args.out
    truth_path = out_dir / "truth.json"
    entries = {}
    if args.only and truth_path.exists():
        for e in json.loads(truth_path.read_text(encoding="utf-8")):
            if e["id"] in ids:           # drop entries whose source vanished
                entries[e["id"]] = e
    for doc in docs:
        check_doc(doc)
        try:
            e = render_doc(doc, out_dir)
        except Exception as ex:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            print(f"ERROR: rendering {doc.id} ({doc.path.name}) failed: {ex}", file=sys.stderr)
            errors += 1
            continue
        entries[doc.id] = e
        pg = e["pages"] if e["pages"] is not None else "?"
        print(f"{e['file']:60s} {e['format']:5s} pages={pg} headings={len(e['headings'])} "
              f"footnotes={len(e['footnotes'])} quotes={e['quotes']} tables={e['tables']} "
              f"items={e['list_items']}")
    truth = [entries[k] for k in sorted(entries)]
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = truth_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, truth_path)
    # stale files
    docdir = out_dir / "documents"
    if docdir.exists():
        expected = {e["file"].split("/", 1)[1] for e in truth}
        if not args.only:
            for f in sorted(docdir.iterdir()):
                if f.is_file() and f.name not in expected and f.suffix in (".pdf", ".docx", ".txt"):
                    if args.prune:
                        f.unlink()
                        print(f"pruned stale {f.name}")
                    else:
                        warn(f"documents/{f.name} has no source (use --prune to delete)")
    print(f"{len(docs)} rendered, {len(truth)} in {truth_path}" + (f", {errors} errors" if errors else ""))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
