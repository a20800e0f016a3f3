"""Document metadata by rules: type, title, main date and issuer, read from the first
pages the way a person would (letterhead, title, "Datum", "Meddelad i ...")."""

from __future__ import annotations

import re

from ..models import Block, Document

MONTHS = {
    "januari": 1, "februari": 2, "mars": 3, "april": 4, "maj": 5, "juni": 6,
    "juli": 7, "augusti": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
}
ISO_DATE_RE = re.compile(r"\b((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
LONG_DATE_RE = re.compile(
    r"\b([1-9]|[12]\d|3[01]) (" + "|".join(MONTHS) + r") ((?:19|20)\d{2})\b", re.IGNORECASE
)
DATE_LABEL_RE = re.compile(
    r"(datum|beslutsdatum|publicerad|publiceringsdatum|dom|beslut|meddelad|undertecknad|daterad|fastställd|antagen)\W{0,3}$",
    re.IGNORECASE,
)
COURT_RE = re.compile(
    r"(Högsta förvaltningsdomstolen|Regeringsrätten|Högsta domstolen|Migrationsöverdomstolen|"
    r"Mark- och miljööverdomstolen|Arbetsdomstolen|"
    r"(?:Kammarrätten|Förvaltningsrätten|Hovrätten) (?:i|över|för) [A-ZÅÄÖ][\wåäö]+(?: och [A-ZÅÄÖ][\wåäö]+)?|"
    r"Länsrätten i [A-ZÅÄÖ][\wåäö]+(?: län)?|[A-ZÅÄÖ][\wåäö]+ tingsrätt)"
)
COUNTY_BOARD_RE = re.compile(r"Länsstyrelsen(?: i)? [A-ZÅÄÖ][\wåäö]+(?:s län| län)?")
AGENCIES = (
    "Statskontoret", "Socialstyrelsen", "Boverket", "Migrationsverket", "Inspektionen för vård och omsorg",
    "Sveriges Kommuner och Regioner", "Riksrevisionen", "Arbetsförmedlingen", "Försäkringskassan",
    "Justitieombudsmannen", "Riksdagens ombudsmän",
)
MUNICIPALITY_RE = re.compile(r"\b([A-ZÅÄÖ][a-zåäöé]+(?:[- ][A-ZÅÄÖ][a-zåäö]+)?) (kommun|stad)\b")
DEPARTMENT_RE = re.compile(r"\b([A-ZÅÄÖ][a-zåäö]+departementet)\b")
NOT_TITLES = re.compile(
    r"^(dom|beslut|missiv|pressmeddelande|innehåll|sammanfattning|protokoll|rapport(?: \d{4}:\d+)?|"
    r"regeringsbeslut|kommittédirektiv|klagande|motpart|saken|domslut|parter|bilaga.*|\d+)$",
    re.IGNORECASE,
)


def infer_metadata(doc: Document) -> None:
    """Fill doc_type, title, date and issuer from the parsed pages."""
    first_pages = doc.pages[:3]
    blocks = [b for p in first_pages for b in p.blocks]
    first = [b for b in doc.pages[0].blocks] if doc.pages else []
    text_first = "\n".join(b.text for b in first)
    text_head = "\n".join(b.text for b in blocks)
    doc.doc_type = classify(text_first, text_head, None)
    doc.issuer = find_issuer(text_first, text_head, doc.doc_type)
    if doc.doc_type == "other":
        doc.doc_type = classify(text_first, text_head, doc.issuer)
    doc.date = find_date(blocks, doc.doc_type)
    doc.title = find_title(doc, first, blocks)


def classify(text_first: str, text_head: str, issuer: str | None) -> str:
    low = text_first.lower()
    head = text_head.lower()
    court = COURT_RE.search(text_first)
    if court and (re.search(r"\bmål\s*nr\b|\bmålnr\b|\bdomslut\b|\bprövningstillstånd\b", low) or re.search(r"^(dom|beslut)$", text_first, re.M)):
        return "court_ruling"
    if re.search(r"\b(rå|hfd|nja) \d{2,4}( ref\.| not| s\.)", low) and "mål nr" in head:
        return "court_ruling"
    if "pressmeddelande" in low or ("publiceringsdatum" in low and "kontakt" in head):
        return "press_release"
    if re.search(r"\bregeringsbeslut\b|\bkommittédirektiv\b|\bdir\. \d{4}:\d+|^regeringens beslut$", low, re.M):
        return "government_decision"
    if "regeringen uppdrar" in low or "regeringen ger" in low and "i uppdrag" in low:
        return "government_decision"
    if re.search(r"\b(överenskommelse|avsiktsförklaring|samverkansavtal|samarbetsavtal)\b", low) or re.search(r"^rutin för\b", low, re.M):
        return "agreement"
    if issuer is None:
        return "other"
    if issuer and issuer.startswith("Länsstyrelsen"):
        return "county_report"
    if issuer and issuer.endswith(("kommun", "stad")):
        return "municipal_review"
    if issuer and issuer in AGENCIES:
        return "agency_report" if issuer != "Sveriges Kommuner och Regioner" else "other"
    return "other"


def find_issuer(text_first: str, text_head: str, doc_type: str = "other") -> str | None:
    m = re.search(r"[Pp]ressmeddelande från ([A-ZÅÄÖ][\wåäö]+(?: [a-zåäö]+)*(?: [A-ZÅÄÖ][\wåäö]+)*)", text_first)
    if m:
        return m.group(1)
    if doc_type == "government_decision":
        return "Regeringen"
    for text in (text_first, text_head):
        top = text[:1500]
        m = COURT_RE.search(top)
        if m:
            return _court_name(m.group(1))
        m = COUNTY_BOARD_RE.search(top)
        if m:
            return m.group(0)
        positions = [(top.find(a), a) for a in AGENCIES if a in top]
        if positions:
            return min(positions)[1]
        m = DEPARTMENT_RE.search(top)
        if m or re.search(r"\bRegeringen\b", top):
            if re.search(r"regeringsbeslut|regeringens beslut|kommittédirektiv|\bDir\. \d{4}", top, re.IGNORECASE):
                return "Regeringen"
            if m:
                return m.group(1)
        m = MUNICIPALITY_RE.search(top)
        if m:
            return m.group(0)
    return None


def _court_name(name: str) -> str:
    # "Förvaltningsrätten i Stockholm" as printed; collapse whitespace and case
    name = " ".join(name.split())
    return name[0].upper() + name[1:]


def parse_date(text: str) -> str | None:
    m = ISO_DATE_RE.search(text)
    if m:
        return m.group(0)
    m = LONG_DATE_RE.search(text)
    if m:
        return f"{m.group(3)}-{MONTHS[m.group(2).lower()]:02d}-{int(m.group(1)):02d}"
    return None


def find_date(blocks: list[Block], doc_type: str) -> str | None:
    """The main date: one that follows a label such as 'Datum' or 'Meddelad', else the
    first date in the body of the first pages, else the first in a running header."""
    body = [b for b in blocks if b.kind not in ("footnote",)]
    for i, b in enumerate(body):
        for m in re.finditer(r"(datum|dom|beslut|meddelad|publicerad|publiceringsdatum|undertecknad|daterad)\b[^\n]{0,40}", b.text, re.IGNORECASE):
            d = parse_date(m.group(0))
            if d:
                return d
        if DATE_LABEL_RE.search(b.text.strip()) and i + 1 < len(body):
            d = parse_date(body[i + 1].text[:60])
            if d:
                return d
    for kinds in (("heading", "paragraph", "list_item", "table", "quote"), ("header", "footer")):
        for b in body:
            if b.kind in kinds:
                d = parse_date(b.text)
                if d:
                    return d
    return None


def find_title(doc: Document, first: list[Block], blocks: list[Block]) -> str | None:
    if doc.doc_type == "court_ruling":
        return ruling_title(doc, blocks)
    headings = [b for b in first if b.kind == "heading" and not NOT_TITLES.match(b.text.strip())]
    headings = [b for b in headings if not _is_issuer_line(b.text, doc.issuer)]
    if headings:
        biggest = max(headings, key=lambda b: (b.size or 0, -first.index(b)))
        title = biggest.text
        # a subtitle straight after the title, in the next size down, belongs to it
        idx = first.index(biggest)
        if idx + 1 < len(first):
            nxt = first[idx + 1]
            if nxt.kind == "heading" and nxt.size and biggest.size and nxt.size < biggest.size and len(nxt.text) < 80 and not NOT_TITLES.match(nxt.text):
                if nxt.size >= 0.6 * biggest.size and doc.doc_type in ("agency_report", "county_report"):
                    title = f"{title} – {nxt.text}"
        return title.strip()
    for b in first:
        if b.kind in ("paragraph",) and 10 < len(b.text) < 160 and not _is_issuer_line(b.text, doc.issuer):
            return b.text.strip()
    return None


def _is_issuer_line(text: str, issuer: str | None) -> bool:
    t = text.strip().lower()
    return bool(issuer) and (t == issuer.lower() or t.startswith(issuer.lower()) and len(t) < len(issuer) + 25)


def ruling_title(doc: Document, blocks: list[Block]) -> str:
    text = "\n".join(b.text for b in blocks)
    kind = "Beslut" if re.search(r"^beslut\b", text, re.M | re.I) and not re.search(r"^dom\b", text, re.M | re.I) else "Dom"
    m = re.search(r"(RÅ|HFD|NJA|MIG|AD) ?(\d{2,4})(?: ref\.| not|:| s\.| nr) ?\d+", text)
    case = re.search(r"[Mm]ål\s*nr\.?:?\s*([A-ZÖ]?\s?\d{1,6}-\d{2})", text)
    parts = [doc.issuer or "Domstol", f"{kind.lower()} {doc.date}" if doc.date else kind.lower()]
    if case:
        parts.append(f"mål nr {case.group(1).replace(' ', '')}")
    if m and m.group(0).startswith(("RÅ", "HFD", "NJA", "MIG", "AD")) and m.start() < 800:
        parts.insert(0, m.group(0))
    return ", ".join(parts)
