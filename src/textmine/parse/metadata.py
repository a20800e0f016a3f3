"""Document metadata by rules: type, title, main date and issuer, read from the first
pages the way a person would (letterhead, title, "Datum", "Meddelad i ...")."""

from __future__ import annotations

import re

from ..models import Block, Document
from ..nlp.regexes import MONTHS  # one list of Swedish month names for the package

ISO_DATE_RE = re.compile(r"\b((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")
LONG_DATE_RE = re.compile(
    r"\b([1-9]|[12]\d|3[01]) (" + "|".join(MONTHS) + r") ((?:19|20)\d{2})\b", re.IGNORECASE
)
DATE_LABEL_RE = re.compile(
    r"(datum|beslutsdatum|publicerad|publiceringsdatum|dom|beslut|meddelad|undertecknad|daterad|fastställd|antagen)\W{0,3}$",
    re.IGNORECASE,
)
# Court seats, so that "Förvaltningsrätten i Stockholms dom" yields the court and not a
# genitive, and headings in capitals ("KAMMARRÄTTEN I STOCKHOLM") are recognised.
# (Issue #3 brings the full court gazetteer; this is what metadata needs.)
ADMIN_COURT_SEATS = "Falun|Göteborg|Härnösand|Jönköping|Karlstad|Linköping|Luleå|Malmö|Stockholm|Uppsala|Umeå|Växjö|Sundsvall"
COURT_RE = re.compile(
    r"(Högsta förvaltningsdomstolen|Regeringsrätten|Högsta domstolen|Migrationsöverdomstolen|"
    r"Mark- och miljööverdomstolen|Arbetsdomstolen|Svea hovrätt|Göta hovrätt|"
    r"(?:Kammarrätten|Förvaltningsrätten) i (?:" + ADMIN_COURT_SEATS + r")|"
    r"Hovrätten (?:över Skåne och Blekinge|för Västra Sverige|för Nedre Norrland|för Övre Norrland)|"
    r"Länsrätten i [A-ZÅÄÖ][\wåäö]+ län|Länsrätten i [A-ZÅÄÖ][\wåäö]+|[A-ZÅÄÖ][\wåäö]+ tingsrätt)(?![\wåäö])",
    re.IGNORECASE,
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
    top = low[:500]  # letterhead and title: what a document says it is
    if "pressmeddelande" in top or ("publiceringsdatum" in top and "kontakt" in head):
        return "press_release"
    court = COURT_RE.search(text_first[:300])
    if court and (re.search(r"\bmål\s*nr\b|\bmålnr\b|\bdomslut\b|\bprövningstillstånd\b", low) or re.search(r"^(dom|beslut)$", text_first, re.M)):
        return "court_ruling"
    # a published case: its reference leads ("HFD 2023 ref. 31", "AD 2019 nr 27", "MIG 2016:14")
    if re.search(r"\b(rå|hfd|nja|ad|mig) \d{2,4}( ref\.| not| s\.| nr|:\d)", low) and re.search(r"mål ?nr|målnummer", head):
        return "court_ruling"
    if re.search(r"\bregeringsbeslut\b|\bkommittédirektiv\b|\bdir\. \d{4}:\d+", top) or re.search(r"^regeringens beslut$", low, re.M):
        return "government_decision"
    if re.search(r"\b(överenskommelse|avsiktsförklaring|samverkansavtal|samarbetsavtal)\b", top) or re.search(r"^rutin för\b", top, re.M):
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
    """Who issued the document: the earliest authority named in the letterhead."""
    m = re.search(r"[Pp]ressmeddelande från ([A-ZÅÄÖ][\wåäö]+(?: [a-zåäö]+)*(?: [A-ZÅÄÖ][\wåäö]+)*)", text_first)
    if m:
        return m.group(1)
    if doc_type == "government_decision":
        m = DEPARTMENT_RE.search(text_first[:600])
        return f"Regeringen ({m.group(1)})" if m else "Regeringen"
    # The letterhead of page 1: the earliest authority named there.
    found = _authorities(uncap_lines(text_first[:1200]))
    if found:
        return min(found)[1]
    # A cover page without a letterhead: the authority named most often in the first pages.
    found = _authorities(uncap_lines(text_head[:6000]), every=True)
    if found:
        counts: dict[str, int] = {}
        for _, name in found:
            counts[name] = counts.get(name, 0) + 1
        return max(counts, key=lambda n: (counts[n], -min(p for p, m in found if m == n)))
    return None


def _authorities(top: str, every: bool = False) -> list[tuple[int, str]]:
    """(position, canonical name) of courts, county boards, agencies, municipalities, departments."""
    found: list[tuple[int, str]] = []
    pick = (lambda rx: rx.finditer(top)) if every else (lambda rx: [m for m in [rx.search(top)] if m])
    for m in pick(COURT_RE):
        found.append((m.start(), _court_name(m.group(1))))
    for m in pick(COUNTY_BOARD_RE):
        found.append((m.start(), m.group(0)))
    low = top.lower()
    for a in AGENCIES:
        start = low.find(a.lower())
        while start >= 0:
            found.append((start, a))
            if not every:
                break
            start = low.find(a.lower(), start + 1)
    for m in pick(MUNICIPALITY_RE):
        found.append((m.start(), m.group(0)))
    for m in pick(DEPARTMENT_RE):
        found.append((m.start(), m.group(1)))
    return found


LOWER_WORDS = {"i", "och", "för", "över", "län", "kommun", "stad", "kommuner", "regioner", "om", "av", "till"}


def uncap_lines(text: str) -> str:
    """'PERSTORPS KOMMUN' -> 'Perstorps kommun' so that letterheads in capitals match."""
    out = []
    for line in text.split("\n"):
        letters = [c for c in line if c.isalpha()]
        if len(letters) >= 4 and all(c.isupper() for c in letters):
            words = line.lower().split(" ")
            line = " ".join(w if (i and w in LOWER_WORDS) else w[:1].upper() + w[1:] for i, w in enumerate(words))
        out.append(line)
    return "\n".join(out)


def _court_name(name: str) -> str:
    """Canonical spelling: 'KAMMARRÄTTEN I STOCKHOLM' -> 'Kammarrätten i Stockholm'."""
    words = " ".join(name.split()).lower().split(" ")
    keep_lower = {"i", "över", "för", "och", "län"}
    out = [w if (i > 0 and w in keep_lower) or (i > 0 and w in ("förvaltningsdomstolen", "domstolen", "hovrätt", "tingsrätt"))
           else w[:1].upper() + w[1:] for i, w in enumerate(words)]
    out = [("-".join(p[:1].upper() + p[1:] for p in w.split("-")) if "-" in w and i > 0 else w) for i, w in enumerate(out)]
    return " ".join(out).replace("Mark- Och", "Mark- och")


def parse_date(text: str) -> str | None:
    m = ISO_DATE_RE.search(text)
    if m:
        return m.group(0)
    m = LONG_DATE_RE.search(text)
    if m:
        return f"{m.group(3)}-{MONTHS[m.group(2).lower()]:02d}-{int(m.group(1)):02d}"
    return None


DATE_TEXT = r"(?:(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])|(?:[1-9]|[12]\d|3[01]) (?:" + "|".join(MONTHS) + r") (?:19|20)\d{2})"
# A short line that ends with a date: "2019-04-03", "Datum: 2022-11-30",
# "Publicerad 15 november 2022", "Stockholm den 15 mars 2022".
DATE_LINE_RE = re.compile(r"^[\wåäöÅÄÖ .,:]{0,32}?" + DATE_TEXT + r"\.?$", re.IGNORECASE)
DATE_LABELLED_RE = re.compile(
    r"\b(datum|publicerad|publiceringsdatum|daterad|beslutsdatum|avgörandedatum|antagen|undertecknad|beslutad|fastställd)\b\W{0,3}(?:den )?(" + DATE_TEXT + ")",
    re.IGNORECASE,
)


def find_date(blocks: list[Block], doc_type: str) -> str | None:
    """The main date: a date standing on its own line near the top (the date of a
    ruling's header box, a report's "Datum:" line), else a labelled date, else the
    first date in the running header, else the first date in the text."""
    body = [b for b in blocks if b.kind not in ("footnote", "header", "footer")]
    lines = [l.strip() for b in body for l in b.text.split("\n") if l.strip()]
    for line in lines[:40]:
        if len(line) <= 48 and DATE_LINE_RE.match(line):
            return parse_date(line)
    for line in lines[:80]:
        m = DATE_LABELLED_RE.search(line)
        if m:
            return parse_date(m.group(2))
    for b in blocks:
        if b.kind in ("header", "footer"):
            d = parse_date(b.text)
            if d:
                return d
    for line in lines:
        d = parse_date(line)
        if d:
            return d
    return None


def find_title(doc: Document, first: list[Block], blocks: list[Block]) -> str | None:
    if doc.doc_type == "court_ruling":
        return ruling_title(doc, blocks)
    # The title stands before the first numbered heading (cover, letterhead, box).
    cover = []
    for b in first:
        if b.kind == "heading" and b.number:
            break
        cover.append(b)
    headings = [b for b in cover if b.kind == "heading" and not NOT_TITLES.match(b.text.strip())]
    headings = [b for b in headings if not _is_issuer_line(b.text, doc.issuer) and not _is_label(b.text)]
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
    # No title heading: the most title-like line of the cover's paragraphs.
    candidates = []
    for b in cover or first[:8]:
        if b.kind != "paragraph":
            continue
        for line in b.text.split("\n"):
            line = re.sub(r"\s+(Datum|Dnr|Diarienummer)\b.*$", "", line.strip())
            if (
                10 < len(line) < 200
                and not _is_issuer_line(line, doc.issuer)
                and not DATE_LINE_RE.match(line)
                and not _is_label(line)
                and not re.match(r"^[\wåäöÅÄÖ ]{2,24}:\s", line)  # "Mottagare: Kommunstyrelsen"
                and not re.match(r"^(förvaltningen|avdelningen|enheten|socialförvaltningen)\b", line, re.I)
            ):
                candidates.append(line)
    if candidates:
        typed = [c for c in candidates if TITLE_WORDS.search(c)]
        return (typed or sorted(candidates, key=len, reverse=True))[0]
    return None


TITLE_WORDS = re.compile(
    r"^(rapport|konsekvensanalys|översyn|redovisning|överenskommelse|avsiktsförklaring|yttrande|vägledning|"
    r"uppdrag|rutin|kartläggning|analys|utredning|skrivelse|promemoria|granskning|ett |en )",
    re.IGNORECASE,
)


def _is_label(text: str) -> bool:
    """Lines that say what kind of document it is, or carry a number, not its title."""
    t = text.strip()
    return bool(
        NOT_TITLES.match(t)
        or re.match(r"^(kommittédirektiv|regeringsbeslut|rapport|remissvar|yttrande|pressmeddelande|promemoria|skrivelse|protokoll)\b.{0,20}$", t, re.I)
        or re.match(r"^(dnr|diarienummer|dir\.|vårt dnr|ert dnr)\b", t, re.I)
    )


def _is_issuer_line(text: str, issuer: str | None) -> bool:
    t = text.strip().lower()
    return bool(issuer) and (t == issuer.lower() or t.startswith(issuer.lower()) and len(t) < len(issuer) + 25)


CASE_NUMBER_RE = re.compile(r"(?:\bmål\s*nr\.?|\bmålnummer|\bmålnr)\s*:?\s*([A-ZÖ]?\s?\d{1,6}-\d{2})\b", re.IGNORECASE)


def ruling_title(doc: Document, blocks: list[Block]) -> str:
    """'Kammarrätten i Stockholm, dom 2019-04-03, mål nr 8812-18'; published cases lead
    with their reference ('HFD 2023 ref. 31, Högsta förvaltningsdomstolen, 2023-06-14, ...')."""
    text = "\n".join(b.text for b in blocks)
    head = text[:1500]
    ref = re.search(r"\b(RÅ|HFD|NJA|MIG|AD) ?(\d{2,4})(?: ref\.| not\.?|:| s\.| nr) ?\d+", head)
    case = CASE_NUMBER_RE.search(head) or CASE_NUMBER_RE.search(text)
    if ref and ref.start() < 400:
        parts = [ref.group(0), doc.issuer or "Domstol", doc.date or ""]
    else:
        kind = "beslut" if re.search(r"^beslut\b", head, re.M | re.I) and not re.search(r"^dom\b", head, re.M | re.I) else "dom"
        parts = [doc.issuer or "Domstol", f"{kind} {doc.date}" if doc.date else kind]
    if case:
        parts.append(f"mål nr {case.group(1).replace(' ', '')}")
    return ", ".join(p for p in parts if p)
