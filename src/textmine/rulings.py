"""rulings: a tagged court ruling -> a precedent card (court, level, case numbers, date,
published reference, parties, subject, outcome, provisions applied, cases cited, lower
instances, keywords).

Read the way a lawyer reads a ruling: the first-page header block (court, DOM/BESLUT,
date, mål nr), the labelled parts (KLAGANDE, MOTPART, ÖVERKLAGAT AVGÖRANDE, SAKEN,
DOMSLUT), the "Lagrum:"/"Rättsfall:"/"Sökord:" lines of published cases, and, where a
referat or a notice tells the story instead, the sentences of its procedural history.
Entities from nlp (courts, provisions, case references) supply the normalised values;
the "Hur man överklagar" appendix is left out."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

from .models import Document
from .nlp.gazetteer import load_gazetteer
from .parse.metadata import parse_date  # ISO or "16 juli 2018" -> "2018-07-16"

OUTCOMES = ("bifall", "delvis bifall", "avslag", "undanröjt", "återförvisat", "prövningstillstånd meddelas inte", "avvisat")
LEVELS = ("förvaltningsrätt", "kammarrätt", "högsta instans", "other")
RANK = {"förvaltningsrätt": 1, "kammarrätt": 2, "högsta instans": 3, "other": 0}

LABELS = {
    "KLAGANDE": "appellant", "KÄRANDE": "appellant", "SÖKANDE": "appellant",
    "MOTPART": "counterparty", "SVARANDE": "counterparty",
    "ÖVERKLAGAT BESLUT": "lower", "ÖVERKLAGAT AVGÖRANDE": "lower", "ÖVERKLAGADE AVGÖRANDEN": "lower",
    "ÖVERKLAGADE BESLUT": "lower", "ÖVERKLAGAD DOM": "lower", "ÖVERKLAGADE DOMAR": "lower",
    "SAKEN": "subject", "DOMSLUT": "decision", "BESLUTSMENING": "decision",
}
DECISION_LABEL = re.compile(r"^([A-ZÅÄÖ][a-zåäö]+ )*(FÖRVALTNINGSRÄTTENS|KAMMARRÄTTENS|LÄNSRÄTTENS|HÖGSTA FÖRVALTNINGSDOMSTOLENS|"
                            r"REGERINGSRÄTTENS|HÖGSTA DOMSTOLENS|ARBETSDOMSTOLENS|MIGRATIONSÖVERDOMSTOLENS|DOMSTOLENS)"
                            r" (AVGÖRANDE|BESLUT|DOMSLUT)$", re.IGNORECASE)
APPENDIX = re.compile(r"^(hur man överklagar|hur man ansöker om prövningstillstånd|bilaga\b|överklagandehänvisning)", re.I)
REASONS = re.compile(r"(skälen|skäl för|domskäl|bedömning|tillämpliga bestämmelser|rättslig reglering|frågan i målet|"
                     r"rättsliga utgångspunkter|bestämmelser)", re.I)

NUM = r"(?:[A-ZÖ]{1,2}\s?)?\d{1,6}\s?[-–/]\s?\d{2}\b"
CASE_LIST_RE = re.compile(r"(?:\bmål\s*nr\.?|\bmålnummer|\bmålnr)\s*:?\s*(" + NUM + r"(?:\s*(?:,|och|samt|&)\s*" + NUM + r")*)", re.I)
REFERAT_RE = re.compile(
    r"\b(HFD \d{4} (?:ref\.?|not\.?) ?\d+|RÅ \d{4} (?:ref\.?|not\.?) ?\d+|NJA \d{4} s\. ?\d+|AD \d{4} nr ?\d+|MIG \d{4}:\d+)"
)
PNR_RE = re.compile(r",?\s*(?:\d{6}|\d{8})[-+]\d{4}\b.*$")


@dataclass
class LowerInstance:
    court: str
    case_number: str | None = None
    date: str | None = None


@dataclass
class RulingCard:
    court: str | None = None
    court_level: str = "other"
    case_numbers: list[str] = field(default_factory=list)
    decision_date: str | None = None
    referat: str | None = None
    parties: dict = field(default_factory=lambda: {"appellant": None, "counterparty": None})
    subject: str | None = None
    outcome: str | None = None
    lagrum: list[dict] = field(default_factory=list)
    cited_cases: list[str] = field(default_factory=list)
    lower_instances: list[LowerInstance] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Line:
    page: int
    block: int
    kind: str
    text: str
    level: int | None = None


def extract_card(doc: Document) -> RulingCard | None:
    """The precedent card of a court ruling (None for other documents)."""
    if doc.doc_type != "court_ruling":
        return None
    blocks = _body_blocks(doc)
    sections = _labelled_sections(blocks)
    header = _header_lines(blocks)
    head_text = "\n".join(header)
    card = RulingCard()
    card.court = _court(doc, header)
    card.referat = _referat(header)
    card.court_level = _level(card.court, card.referat)
    card.case_numbers = _case_numbers(head_text) or _case_numbers("\n".join(b.text for b in blocks[:12]))
    card.decision_date = _labelled_date(head_text, "avgörandedatum") or doc.date
    card.keywords = _keywords(header)
    card.subject = " ".join(" ".join(sections["subject"]).split()) or None
    card.parties = _parties(sections, blocks, card.court)
    card.outcome = classify_outcome(_decision_text(sections, blocks, card.court))
    card.lagrum = _lagrum(doc, blocks)
    lower = _lower_from_label(sections["lower"], card.case_numbers)
    lower += _lower_from_narrative(doc, blocks, card)
    if card.court_level != "förvaltningsrätt" or not any(li.case_number and not re.match(NUM + "$", li.case_number) for li in lower):
        lower += _first_decision(blocks, card)
    for li in lower:  # "Farsta stadsdelsnämnds beslut": the full name is the party's
        full = next((p for p in card.parties.values() if p and li.court != p and p.startswith(li.court + " i ")), None)
        li.court = full or li.court
    card.lower_instances = _dedupe_lower(lower)
    card.cited_cases = _cited(doc, blocks, card)
    return card


# --- reading the document ------------------------------------------------------------------


def _body_blocks(doc: Document) -> list[_Line]:
    """The ruling's blocks in reading order, without running heads, page numbers and the
    appendix on how to appeal."""
    out = []
    for page in doc.pages:
        for i, b in enumerate(page.blocks):
            if b.kind in ("header", "footer"):
                continue
            if b.kind == "heading" and APPENDIX.match(b.text.strip()):
                return out
            label, rest = _split_label(b.text)
            if label:  # "KLAGANDE\nA.B., ..." or "DOMSLUT Förvaltningsrätten avslår ...": one block, two parts
                out.append(_Line(page.number, i, "heading", label, 3))
                if rest:
                    out.append(_Line(page.number, i, "paragraph", rest, None))
            elif b.kind == "heading" and len(b.text) > 40 and b.text.rstrip().endswith((".", ").")):
                out.append(_Line(page.number, i, "paragraph", b.text, None))  # a sentence laid out like a heading
            else:
                out.append(_Line(page.number, i, b.kind, b.text, b.level))
    return out


def _split_label(text: str) -> tuple[str | None, str]:
    """An upper-case label at the start of a block with more text after it."""
    t = text.strip()
    first, _, after = t.partition("\n")
    words = first.split()
    for n in range(min(len(words), 5), 0, -1):
        head = " ".join(words[:n]).rstrip(":")
        if not head.isupper():
            continue
        if head in LABELS or DECISION_LABEL.match(head):
            rest = " ".join(words[n:])
            rest = (rest + "\n" + after).strip() if after else rest
            return (head, rest) if rest else (None, t)
    return None, t


def _label_of(line: _Line) -> str | None:
    t = " ".join(line.text.split()).rstrip(":")
    if len(t) > 60:
        return None
    up = t.upper()
    if up in LABELS and (line.kind == "heading" or t.isupper()):
        return LABELS[up]
    if DECISION_LABEL.match(t) and (line.kind == "heading" or t.isupper() or t.istitle() or t[:1].isupper()):
        return "decision"
    if line.kind == "heading" and t.lower() in ("domslut", "beslut", "högsta förvaltningsdomstolens avgörande"):
        return "decision"
    return None


def _labelled_sections(blocks: list[_Line]) -> dict[str, list[str]]:
    """Text under each label (KLAGANDE, MOTPART, SAKEN, DOMSLUT ...) up to the next label
    or heading."""
    out: dict[str, list[str]] = {k: [] for k in ("appellant", "counterparty", "lower", "subject", "decision")}
    current = None
    for b in blocks:
        label = _label_of(b)
        if label:
            current = label
            continue
        if b.kind == "heading" and current:
            current = None
            continue
        if current:
            out[current].append(b.text)
    return out


def _header_lines(blocks: list[_Line]) -> list[str]:
    """The lines before the story or the labelled parts begin: court, reference, case
    number, dates, Rubrik/Lagrum/Rättsfall/Sökord."""
    lines = []
    for b in blocks[:14]:
        if _label_of(b) or (b.kind == "heading" and re.match(r"^(referat|bakgrund|yrkanden|skälen)", b.text, re.I)):
            break
        for line in b.text.split("\n"):
            lines.append(line.strip())
    # a "Lagrum:" line may run on into the next block ("... förvaltningslagen" / "(2017:900).")
    return lines


def _court(doc: Document, header: list[str]) -> str | None:
    gaz = load_gazetteer()
    names = sorted(gaz.courts, key=len, reverse=True)
    for line in header[:6] + [doc.issuer or ""]:
        low = line.lower()
        if "migrationsöverdomstolen" in low:
            return "Kammarrätten i Stockholm"  # MiÖD is Kammarrätten i Stockholm
        for name in names:
            if low.startswith(name.lower()) or low == name.lower():
                return name
    return doc.issuer


def _level(court: str | None, referat: str | None) -> str:
    if referat and referat.startswith("MIG"):
        return "högsta instans"
    court_info = load_gazetteer().courts.get(court or "")
    level = court_info.level if court_info else ""
    if level == "länsrätt":
        return "förvaltningsrätt"
    if court in ("Arbetsdomstolen", "Migrationsöverdomstolen"):
        return "högsta instans"
    return level if level in LEVELS else "other"


def _referat(header: list[str]) -> str | None:
    for line in header[:8]:
        if re.match(r"^(rättsfall|lagrum|rubrik|sökord|uppslagsord)\s*:", line, re.I):
            continue
        m = REFERAT_RE.search(line)
        if m:
            return normalise_referat(m.group(1))
    return None


def normalise_referat(ref: str) -> str:
    ref = " ".join(ref.split())
    ref = re.sub(r"\bref\.? ?(\d)", r"ref. \1", ref)
    ref = re.sub(r"\bnot\.? ?(\d)", r"not \1", ref)
    ref = re.sub(r"\bs\. ?(\d)", r"s. \1", ref)
    ref = re.sub(r"\bnr ?(\d)", r"nr \1", ref)
    return ref


def normalise_case_number(num: str) -> str:
    num = re.sub(r"\s*[–—-]\s*", "-", num.strip())
    num = re.sub(r"\s*/\s*", "/", num)
    return " ".join(num.split())


def _case_numbers(text: str) -> list[str]:
    m = CASE_LIST_RE.search(text)
    if not m:
        return []
    return list(dict.fromkeys(normalise_case_number(n) for n in re.findall(NUM, m.group(1))))


def _labelled_date(text: str, label: str) -> str | None:
    m = re.search(label + r"\s*:?\s*([^\n]+)", text, re.I)
    return parse_date(m.group(1)) if m else None


def _keywords(header: list[str]) -> list[str]:
    text = "\n".join(header)
    m = re.search(r"^(?:sökord|uppslagsord)\s*:\s*(.+(?:\n(?![A-ZÅÄÖ][a-zåäö]+:).+)*)", text, re.I | re.M)
    if not m:
        return []
    value = " ".join(m.group(1).split())
    parts = value.split(";") if ";" in value else value.split(",")
    return [p.strip().rstrip(".") for p in parts if p.strip()]


# --- parties ---------------------------------------------------------------------------------

BODY_RE = r"(?:[A-ZÅÄÖ][\wåäö-]*(?: och [\wåäö-]+)?(?:nämnden|nämnd|styrelsen)(?: [A-ZÅÄÖ][\wåäö]+)?(?: i [A-ZÅÄÖ][\wåäö]+(?: kommun| stad| Stad| län)?)?)"
PERSON_RE = r"(?:[A-ZÅÄÖ]\.(?:[A-ZÅÄÖ]\.)+)"


def _clean_party(text: str) -> str | None:
    first = text.strip().split("\n")[0]
    first = PNR_RE.sub("", first).strip().rstrip(",")
    first = re.sub(r",\s*(org\.? ?nr|organisationsnummer).*$", "", first, flags=re.I)
    first = re.sub(r",\s+(?=[^,]*\d|Box\b).*$", "", first)  # the address after the name
    return first or None


def _parties(sections: dict, blocks: list[_Line], court: str | None) -> dict:
    appellant = _clean_party(sections["appellant"][0]) if sections["appellant"] else None
    counterparty = _clean_party(sections["counterparty"][0]) if sections["counterparty"] else None
    if appellant and counterparty:
        return {"appellant": appellant, "counterparty": counterparty}
    text = "\n".join(b.text for b in blocks)
    bodies = re.findall(BODY_RE, text)
    full_body = next((b for b in bodies if " i " in b), None)
    party = rf"({PERSON_RE}|{BODY_RE}|[A-ZÅÄÖ][\wåäö]+(?: [A-ZÅÄÖ][\wåäö]+)* (?:AB|kommun)|Migrationsverket|Försäkringskassan|[A-ZÅÄÖ][\wåäö]+)"
    if not appellant:
        m = re.search(r"(?:Överklagande|Ansökan om prövningstillstånd och överklagande) av " + party, text)
        if m:
            appellant = m.group(1)
        else:
            found = [m.group(1) for m in re.finditer(party + r"(?: [^.]{0,40})? (?:överklagade (?:och|[a-zåäö]+(?:s|ns|ens)? (?:dom|beslut|avgörande))|fullföljde sin talan)", text)]
            found = [f for f in found if f not in ("Domen", "Beslutet", "Bolaget", "Han", "Hon")]
            if found:
                appellant = found[-1]
            else:
                m = re.search(party + r" (?:väckte|yrkade)", text)
                appellant = m.group(1) if m else None
    if not counterparty:
        m = re.search(party + r"(?: [^.]{0,30})? (?:ansåg att överklagandet|motsatte sig|bestred|yrkade att överklagandet|anser att överklagandet)", text)
        counterparty = m.group(1) if m else None
    appellant, counterparty = _resolve_generic(appellant, text, full_body), _resolve_generic(counterparty, text, full_body)
    if appellant and not counterparty:
        # a notice names the other side only in passing: a person against a nämnd, a nämnd
        # against a person or against another nämnd
        others = [b for b in bodies if " i " in b and b != appellant]
        persons = [p for p in re.findall(PERSON_RE, text) if p != appellant]
        if re.fullmatch(PERSON_RE, appellant):
            counterparty = others[0] if others else None
        else:
            counterparty = persons[0] if persons else (others[0] if others else None)
    return {"appellant": appellant, "counterparty": counterparty}


def _resolve_generic(party: str | None, text: str, full_body: str | None) -> str | None:
    """'Nämnden' and 'Kommunen' stand for a body named in full elsewhere in the ruling."""
    if not party:
        return party
    low = party.lower()
    if low in ("nämnden", "socialnämnden") and full_body:
        return full_body
    if low == "kommunen":
        m = re.search(r"\b([A-ZÅÄÖ][\wåäö]+ (?:kommun|stad))\b", text)
        return m.group(1) if m else party
    return party


# --- outcome ---------------------------------------------------------------------------------


def _decision_text(sections: dict, blocks: list[_Line], court: str | None) -> str:
    if sections["decision"]:
        return " ".join(sections["decision"])
    # referat and notices: the sentences in which this court itself decides
    verbs = r"(meddelade|meddelar|fastställ|avslog|avslår|biföll|bifaller|undanröj|upphäv|visade|visar|avvisa|ogilla|förpliktar|förklarar|förklarade)"
    names = [re.escape(court)] if court else []
    names += ["Migrationsöverdomstolen", "Domstolen"] if court == "Kammarrätten i Stockholm" else ["Domstolen"]
    text = " ".join(b.text for b in blocks)
    sentences = re.split(r"(?<=[.!?])\s+", text)
    own = re.compile(r"^(?:" + "|".join(names) + r")\b[^.]{0,80}\b" + verbs)
    hits = [s for s in sentences if own.search(s) and not re.search(r"\b(yrkade|yrkar|anförde)\b", s)]
    if hits:
        return " ".join(hits[-2:])
    return " ".join(s for s in sentences[-6:] if re.search(r"\b" + verbs, s))


def classify_outcome(text: str) -> str | None:
    t = " ".join(text.lower().split())
    if not t:
        return None
    if re.search(r"(inte|ej) (meddelar |meddelas )?prövningstillstånd|prövningstillstånd meddelas inte|meddelar inte prövningstillstånd", t) \
            and not re.search(r"\b(avslår|bifaller|upphäver|undanröjer)\b", t):
        return "prövningstillstånd meddelas inte"
    if re.search(r"delvis|i övrigt avslå|i övrigt avslås", t) and re.search(r"bifall|biföll|bifalls", t):
        return "delvis bifall"
    if re.search(r"\b(bifaller|biföll|bifalls)\b", t) and re.search(r"\b(avslår|avslås|avslog)\b", t) \
            and not re.search(r"prövningstillstånd men avslå", t):
        return "delvis bifall"  # one case number granted, another refused
    if re.search(r"(visar|visas|visade|vises) (målet|ärendet)[^.]{0,60}åter|återförvis", t):
        if re.search(r"åter[^.]{0,80}(för (bestämmande|beräkning|fastställande) av (biståndets|beloppet|storleken|bistånd))", t):
            return "bifall"
        return "återförvisat"
    if re.search(r"undanröj", t):
        return "undanröjt"
    if re.search(r"\bavvis(ar|as|ade|ning)\b", t) and not re.search(r"\b(bifaller|biföll)\b", t):
        return "avvisat"
    if re.search(r"\b(bifaller|biföll|bifalls|bifallit|förpliktar|förpliktade|ändrar|upphäver|upphävde)\b", t) \
            or re.search(r"förklara[rd]e? att [^.]{0,60}(har|hade) rätt", t) or re.search(r"\bska (betala|utge)\b", t):
        return "bifall"  # reversing the decision appealed against, or granting what was claimed
    if re.search(r"\b(avslår|avslås|avslog|fastställer|fastställde|fastställs|ogillar|ogillade|ogillas|lämnar[^.]{0,20}utan bifall)\b", t):
        return "avslag"
    return None


# --- provisions, cases, lower instances ------------------------------------------------------


def _expand_sections(sections: str) -> list[str]:
    out = []
    s = sections.replace("§§", "").replace("§", "").strip()
    for part in re.split(r"\s*(?:,|\boch\b|\bsamt\b)\s*", s):
        part = part.strip()
        r = re.match(r"^(\d+)\s*[–-]\s*(\d+)$", part)
        if r and int(r.group(2)) - int(r.group(1)) < 30:
            out += [str(n) for n in range(int(r.group(1)), int(r.group(2)) + 1)]
        elif re.match(r"^\d+(?: ?[a-z])?$", part):
            out.append(re.sub(r"(\d)([a-z])$", r"\1 \2", part))
    return out


def _provisions(entities) -> list[dict]:
    out = []
    for e in entities:
        data = e.data or {}
        if e.label != "PROVISION" or not data.get("sfs") or not data.get("sections"):
            continue
        chapter = data.get("chapter")
        chapter = re.sub(r"(\d)\s*([a-z])$", r"\1 \2", chapter) if chapter else None
        for section in _expand_sections(str(data["sections"])):
            item = {"sfs": data["sfs"], "chapter": chapter, "section": section}
            if item not in out:
                out.append(item)
    return out


def _entities_in(doc: Document, blocks: list[_Line]):
    keys = {(b.page, b.block) for b in blocks}
    return [e for e in doc.entities or [] if (e.page, e.block) in keys]


def _lagrum(doc: Document, blocks: list[_Line]) -> list[dict]:
    """The "Lagrum:" line of a published case; else the provisions cited in the reasons."""
    for i, b in enumerate(blocks[:16]):
        if re.match(r"^lagrum\s*:", b.text.strip(), re.I) or re.search(r"– Lagrum:", b.text):
            part = [b]
            if i + 1 < len(blocks) and not re.match(r"^[A-ZÅÄÖ][a-zåäö]+:", blocks[i + 1].text) and blocks[i + 1].kind != "heading" \
                    and len(blocks[i + 1].text) < 60:
                part.append(blocks[i + 1])  # the line ran on into the next block
            ents = _entities_in(doc, part)
            if "– Lagrum:" in b.text:  # a notice: only what follows the label
                offset = b.text.index("– Lagrum:")
                ents = [e for e in ents if (e.page, e.block) != (b.page, b.block) or e.start >= offset]
            found = _provisions(ents)
            if found:
                return found
    reasons, inside = [], False
    for b in blocks:
        if b.kind == "heading":
            if _label_of(b):  # DOMSLUT, SAKEN ...: not the reasons
                inside = False
                continue
            inside = bool(REASONS.search(b.text)) or bool(inside and b.level and b.level > 1)
            continue
        if inside:
            reasons.append(b)
    return _provisions(_entities_in(doc, reasons or blocks))


def _case_refs(doc: Document, blocks: list[_Line]) -> list[tuple]:
    """(entity, norm, court or None, case number or None) of each case reference; a bare
    "mål nr 8812-18" takes the court named just before it in the sentence ("Kammarrättens
    i Stockholms dom den 3 april 2019 i mål nr 8812-18")."""
    gaz = load_gazetteer()
    ents = _entities_in(doc, blocks)
    courts = [e for e in ents if e.label == "COURT" and e.norm in gaz.courts]
    text_by_block = {(b.page, b.block): b.text for b in blocks}
    out = []
    for e in ents:
        if e.label != "CASE_REF":
            continue
        number = (e.data or {}).get("case_number")
        norm = e.norm
        court = norm.rsplit(" mål ", 1)[0] if " mål " in norm and not norm.startswith("mål ") else None
        if number and court is None:
            before = [c for c in courts if (c.page, c.block) == (e.page, e.block) and c.end <= e.start and e.start - c.end <= 90
                      and "." not in text_by_block[(e.page, e.block)][c.end:e.start].replace("nr.", "")]
            if before:
                court = before[-1].norm
                norm = f"{court} mål {normalise_case_number(number)}"
        out.append((e, norm, court, normalise_case_number(number) if number else None))
    return out


def _cited(doc: Document, blocks: list[_Line], card: RulingCard) -> list[str]:
    own = set(card.case_numbers)
    lower_numbers = {li.case_number for li in card.lower_instances if li.case_number}
    out = []
    for e, norm, court, number in _case_refs(doc, blocks):
        if card.referat and normalise_referat(norm) == card.referat:
            continue
        if number and (number in own or number in lower_numbers):
            continue
        if number and court is None:
            continue  # a bare number: whose case it is stays unknown
        if REFERAT_RE.fullmatch(norm):
            norm = normalise_referat(norm)
        if norm not in out:
            out.append(norm)
    return out


def _nominative(name: str) -> str:
    """'Socialnämndens i Södertälje kommun' -> 'Socialnämnden i Södertälje kommun';
    'Förvaltningsrätten i Härnösands' -> 'Förvaltningsrätten i Härnösand'."""
    name = re.sub(r"^\d+\.\s*", "", " ".join(name.split()))  # "1. Farsta stadsdelsnämnds ..."
    first, *rest = name.split(" ", 1)
    genitive_first = re.search(r"(nämnden|styrelsen|rätten|domstolen|nämnd|verket)s$", first, re.I)
    if genitive_first:
        name = " ".join([first[:-1], *rest])
    elif " i " in name:  # the -s sits on the word before " i ": "Socialnämnden Nordosts i Göteborgs Stad"
        name = re.sub(r"^(.+?)s( i [A-ZÅÄÖ])", r"\1\2", name, count=1)
    else:  # "Farsta stadsdelsnämnds"
        name = re.sub(r"(nämnds|nämndens|styrelsens|verkets)$", lambda m: m.group(1)[:-1], name)
    gaz = load_gazetteer()
    for court in gaz.courts:
        if name.lower() in (court.lower() + "s", court.lower()):
            return court
    return name


def _lower_from_label(texts: list[str], own: list[str] | None = None) -> list[LowerInstance]:
    out = []
    for text in texts:
        for part in re.split(r"\n|;\s+", text):
            part = " ".join(part.split())
            if not part:
                continue
            m = re.match(r"^(.+?)\s+(?:dom|beslut|avgörande|dom och beslut)\b", part)
            if not m:
                continue
            who = _nominative(m.group(1))
            case = None
            d = re.search(r"\bdnr\.?:?\s*([^\s,;()]+(?: [^\s,;()]*\d[^\s,;()]*)?)", part, re.I)
            c = CASE_LIST_RE.search(part)
            if d:  # an authority's diary number
                case = d.group(1).rstrip(".,")
            elif c:
                number = normalise_case_number(re.findall(NUM, c.group(1))[0])
                case = None if own and number in own else number
            out.append(LowerInstance(who, case, parse_date(part)))
    return out


def _lower_from_narrative(doc: Document, blocks: list[_Line], card: RulingCard) -> list[LowerInstance]:
    """Courts below this one named with a case number in the story of the case."""
    gaz = load_gazetteer()
    rank = RANK.get(card.court_level, 0)
    out = []
    text_by_block = {(b.page, b.block): b.text for b in blocks}
    for e, norm, court, number in _case_refs(doc, blocks):
        if not number or not court or court not in gaz.courts:
            continue
        level = _level(court, None)
        court_rank = RANK.get(level, 0) or (0.5 if gaz.courts[court].level in ("tingsrätt", "hovrätt") else 0)
        if gaz.courts[court].level == "hovrätt":
            court_rank = 1.5
        if not (0 < court_rank < rank) and not (card.referat and card.referat.startswith("NJA") and court_rank):
            continue
        block = text_by_block[(e.page, e.block)]
        around = block[max(0, e.start - 200):e.end + 40]
        window = around[max(0, around.rfind("(") - 1):] if "(" in around[-80:] else around
        # the date written next to the case number ("dom den 8 december 2021 i mål nr ..."), else
        # the one in the parenthesis before it ("som (2021-12-08, mål nr 1540-21)")
        near = block[max(0, e.start - 60):e.end + 10] if e.end < len(block) else ""
        date = parse_date(near) or parse_date(window)
        out.append(LowerInstance(court, number, date))
    return out


AUTHORITY_RE = re.compile(r"((?:[A-ZÅÄÖ][\wåäö-]*(?: och [\wåäö-]+)?(?:nämnden|nämnd|styrelsen)(?: [A-ZÅÄÖ][\wåäö]+)?"
                          r" i [A-ZÅÄÖ][\wåäö]+(?: kommun| stad| Stad| län)?)|Migrationsverket|Försäkringskassan)")
DECIDED_RE = re.compile(r"\b(beslutade|avslog|biföll|avvisade|upprättade|fattade|beslut den|genom beslut|avslagsbeslut)\b", re.I)


def _first_decision(blocks: list[_Line], card: RulingCard) -> list[LowerInstance]:
    """The authority's decision that started the matter, told in the story of the case:
    'Socialnämnden i X kommun avslog den 16 juli 2018 ...', 'Nämnden beslutade den ...'."""
    parties = [p for p in card.parties.values() if p and AUTHORITY_RE.fullmatch(p)]
    text = " ".join(b.text for b in blocks)
    # "socialnämndens beslut den 16 juli 2018", "Migrationsverkets beslut den 14 april 2015"
    m = re.search(r"\b([\wåäö-]*(?:nämnd|nämnden|nämndens|nämnds|verket|verkets|styrelsens))(?: i [A-ZÅÄÖ][\wåäö]+ (?:kommun|stad|Stad))?"
                  r" (?:beslut|avslagsbeslut) (?:den |av den )?(\d{1,2} \w+ \d{4}|\d{4}-\d{2}-\d{2})", text)
    if m and parse_date(m.group(2)):
        named = AUTHORITY_RE.search(m.group(0))
        who = _nominative(named.group(1)) if named else (parties[0] if parties and "nämnd" in m.group(1).lower() else None)
        if who is None and m.group(1).lower().startswith("migrationsverket"):
            who = "Migrationsverket"
        if who:
            return [LowerInstance(who, None, parse_date(m.group(2)))]
    for b in blocks:
        if b.kind == "heading" and REASONS.search(b.text):
            break
        for sentence in re.split(r"(?<=[.!?])\s+", b.text):
            if not DECIDED_RE.search(sentence):
                continue
            date = parse_date(sentence)
            if not date or re.search(r"\b(dom|domen|mål nr)\b", sentence):
                continue
            m = AUTHORITY_RE.search(sentence)
            who = _nominative(m.group(1)) if m else (parties[0] if parties and re.search(r"\b[Nn]ämnden\b", sentence) else None)
            if who:
                d = re.search(r"\bdnr\.?:?\s*([^\s,;()]+(?: [^\s,;()]*\d[^\s,;()]*)?)", sentence, re.I)
                return [LowerInstance(who, d.group(1).rstrip(".,") if d else None, date)]
    return []


def _dedupe_lower(items: list[LowerInstance]) -> list[LowerInstance]:
    out: list[LowerInstance] = []
    for li in items:
        same = next((o for o in out if o.court == li.court and (o.case_number == li.case_number or not o.case_number or not li.case_number)), None)
        if same:
            same.case_number = same.case_number or li.case_number
            same.date = same.date or li.date
        else:
            out.append(li)
    return out


# --- stored cards and links ------------------------------------------------------------------


def provision_key(item: dict) -> str:
    """A lagrum item as the PROVISION entity id: "2001:453 4 kap. 1 §", "1971:291 34a §"."""
    section = item["section"].replace(" ", "")
    if item.get("chapter"):
        return f"{item['sfs']} {item['chapter'].replace(' ', '')} kap. {section} §"
    return f"{item['sfs']} {section} §"


def card_refs(card: RulingCard) -> list[tuple[str, str]]:
    """The keys that link rulings: a case is known by "<court> mål <number>" or by its
    published reference; the same keys are what other rulings cite or appeal from."""
    refs = [("self", f"{card.court} mål {n}") for n in card.case_numbers if card.court]
    if card.referat:
        refs.append(("self", card.referat))
    refs += [("cited", c) for c in card.cited_cases]
    refs += [("lower", f"{li.court} mål {li.case_number}") for li in card.lower_instances if li.case_number]
    refs += [("provision", provision_key(x)) for x in card.lagrum]
    return refs


def update_cards(store) -> int:
    """Make the cards of stored rulings that have none (new, or retagged)."""
    done = 0
    for doc_id in store.rulings_without_card():
        card = extract_card(store.get_document(doc_id))
        if card is not None:
            store.put_card(doc_id, card.to_json(), card_refs(card))
            done += 1
    return done


def list_cards(store, **filters) -> list[dict]:
    """Stored cards matching the filters (see Store.rulings), each with its document and
    its links to other stored rulings: what it cites, what cites it, its appeal chain."""
    update_cards(store)  # stores from before cards existed, or retagged documents
    titles = {d["id"]: d["title"] for d in store.list_documents("court_ruling")}
    out = []
    for r in store.rulings(**filters):
        links = store.ruling_links(r["doc_id"])
        out.append({"doc_id": r["doc_id"], "title": r["title"], "path": r["path"], **json.loads(r["card"]),
                    "links": {k: [{"doc_id": i, "title": titles.get(i)} for i in v] for k, v in links.items()}})
    return out


CSV_COLUMNS = ["doc_id", "court", "court_level", "case_numbers", "decision_date", "referat", "appellant", "counterparty",
               "subject", "outcome", "lagrum", "cited_cases", "lower_instances", "keywords", "cited_by", "path"]


def csv_row(c: dict) -> list:
    return [
        c["doc_id"], c["court"], c["court_level"], "; ".join(c["case_numbers"]), c["decision_date"], c["referat"] or "",
        c["parties"]["appellant"] or "", c["parties"]["counterparty"] or "", c["subject"] or "", c["outcome"] or "",
        "; ".join(f"{x['sfs']} {x['chapter'] + ' kap. ' if x['chapter'] else ''}{x['section']} §" for x in c["lagrum"]),
        "; ".join(c["cited_cases"]),
        "; ".join(f"{x['court']} {x['case_number'] or ''} {x['date'] or ''}".strip() for x in c["lower_instances"]),
        "; ".join(c["keywords"]), "; ".join(str(x["doc_id"]) for x in c["links"]["cited_by"]), c["path"],
    ]
