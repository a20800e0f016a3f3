"""Interview quotes and who said them.

The parser marks quote blocks (a paragraph in quotation marks, or one whose footnote
says "Intervju med ..."); the chunker makes each a passage of kind "quote". Here each
quote passage gets its attribution, read from its footnote ("Intervju med enhetschef
inom socialtjänsten i en större avsändande kommun, december 2022") or, when there is
none, from the lead-in sentence before it ("En företrädare för en kommun i Stockholms
län uttrycker det på följande sätt:"):

- source: interview, focus group, conversation, survey answer ...
- respondent: the person or role as written ("enhetschef inom socialtjänsten")
- size: smaller | medium | larger (the municipality's size as the report states it)
- role: sending | receiving (avsändande / mottagande kommun)
- organisation: municipality | county_board | agency | individual | other
- region: the county code when one is named

Researchers compare themes across these kinds of respondent, so the fields are kept
as the report states them and never guessed from elsewhere."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from .nlp.gazetteer import load_gazetteer
from .store import Store

NOTE_NUMBER_RE = re.compile(r"^\[(\d+)\]\s*")
IBID_RE = re.compile(r"^\s*(ibid|ibidem|dito|a\.\s?a)\.?\s*$", re.IGNORECASE)
SOURCE_RE = re.compile(
    r"^(?P<source>intervju(?:er)?|telefonintervju|gruppintervju|fokusgrupp(?:sintervju)?|samtal|citat|enkätsvar|"
    r"fritextsvar|uttalande)"
    r"\s+(?:med\s+|av\s+|från\s+|i\s+)?(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
LEAD_IN_RE = re.compile(
    r"(?P<who>(?:en|ett|flera|några|två|tre)?\s*(?:kommunföreträdare|företrädare|socialchef|enhetschef|handläggare|"
    r"socialsekreterare|tjänsteperson|chef|representant|intervjuperson)[^.:]*?)\s+"
    r"(?:uttrycker|beskriver|säger|berättar|förklarar|framhåller|menar|sammanfattar)[^.:]*:\s*$",
    re.IGNORECASE)
SOURCES = {
    "intervju": "interview", "intervjuer": "interview", "telefonintervju": "interview", "gruppintervju": "interview",
    "fokusgrupp": "focus_group", "fokusgruppsintervju": "focus_group", "samtal": "conversation",
    "citat": "quote", "enkätsvar": "survey", "fritextsvar": "survey", "uttalande": "statement",
}
SIZE_WORDS = (
    (re.compile(r"\b(mindre|liten|små|lilla|mindre\s+\w+)\b", re.I), "smaller"),
    (re.compile(r"\b(mellanstor|medelstor)\w*\b", re.I), "medium"),
    (re.compile(r"\b(större|stor|stora|storstads\w*|storstad)\b", re.I), "larger"),
)
ROLE_WORDS = (
    (re.compile(r"\bmottagande\b|\bmottagarkommun", re.I), "receiving"),
    (re.compile(r"\bavsändande\b|\bavsändarkommun|\bsändande\b", re.I), "sending"),
)
INDIVIDUAL_RE = re.compile(
    r"\b(person som|en boende|hyresgäst|brukare|klient|förälder|mamma|pappa|kvinna|man som|inflyttad|mottagare av)\b", re.I)
# municipal staff: in a municipality's own review a "handläggare" is the municipality's
MUNICIPALITY_RE = re.compile(
    r"kommun|socialtjänst|socialchef|socialsekreterare|förvaltning|stadsdel|handläggare|enhetschef|gruppledare|"
    r"rektor|samordnare|ekonomiskt bistånd|försörjningsstöd", re.I)
REGION_HERE_RE = re.compile(r"\bi (?:\w+ )?(?:länet|länsdelen)\b", re.I)
COUNTY_BOARD_RE = re.compile(r"länsstyrelse", re.I)
DATE_RE = re.compile(r"\b(januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december)\s+(\d{4})\b", re.I)


@dataclass
class Attribution:
    passage_id: str
    source: str | None = None  # interview | focus_group | conversation | quote | survey | lead_in
    respondent: str | None = None  # as written: "enhetschef inom socialtjänsten i en större avsändande kommun"
    size: str | None = None  # smaller | medium | larger
    role: str | None = None  # sending | receiving
    organisation: str | None = None  # municipality | county_board | agency | individual | other
    region: str | None = None  # county code ("01")

    def to_row(self) -> dict:
        return asdict(self)


def parse_attribution(passage_id: str, text: str, county: str | None = None) -> Attribution:
    """Read an attribution from a footnote or a lead-in sentence; `county` is the
    document's county, meant by "i länet" in a county board's report."""
    text = " ".join(text.split())
    att = Attribution(passage_id)
    m = SOURCE_RE.match(text)
    if m:
        att.source = SOURCES.get(m.group("source").lower(), "interview")
        rest = m.group("rest")
    else:
        att.source = "lead_in"
        rest = text
    # the respondent runs to the first comma, full stop or a "Se även" reference
    respondent = re.split(r"[,;]|\.\s|\.$|\bSe (?:även|också)\b", rest, maxsplit=1)[0].strip()
    att.respondent = respondent or None
    who = respondent or rest
    for pattern, size in SIZE_WORDS:
        if pattern.search(who):
            att.size = size
            break
    for pattern, role in ROLE_WORDS:
        if pattern.search(who):
            att.role = role
            break
    att.organisation, att.region = _organisation(who)
    if att.region is None and county and REGION_HERE_RE.search(rest):
        att.region = county
    return att


def _organisation(who: str) -> tuple[str | None, str | None]:
    gaz = load_gazetteer()
    region = None
    for county in gaz.counties.values():
        if (county.name.lower() in who.lower() or f"{county.short}kommun".lower() in who.lower()
                or re.search(rf"\b{re.escape(county.short)}\b", who)):
            region = county.code
            break
    if region is None and re.search(r"stockholmskommun", who, re.I):
        region = "01"
    if COUNTY_BOARD_RE.search(who):
        return "county_board", region
    for agency in gaz.agencies.values():
        for name in (agency.name, *agency.aliases):
            if len(name) >= 3 and re.search(rf"\b{re.escape(name)}\b", who):
                return "agency", region
    if INDIVIDUAL_RE.search(who):
        return "individual", region
    if MUNICIPALITY_RE.search(who) or "kommunföreträdare" in who.lower():
        return "municipality", region
    return ("other" if who else None), region


def quote_attributions(passages: list[dict]) -> list[Attribution]:
    """Attributions for a document's quote passages (rows of Store.document_passages,
    in document order). "Ibid." takes the interview footnote before it."""
    out = []
    last_note: str | None = None
    previous_text = ""
    for p in passages:
        notes = [NOTE_NUMBER_RE.sub("", n) for n in json.loads(p["footnotes"] or "[]")]
        interview = [n for n in notes if SOURCE_RE.match(n.strip())]
        if p["kind"] == "quote":
            note = interview[-1] if interview else None
            if note is None and notes and IBID_RE.match(notes[-1]) and last_note:
                note = last_note
            if note is None:
                lead = previous_text.strip().splitlines()[-1] if previous_text.strip() else ""
                sentence = re.split(r"(?<=[.!?])\s+", lead)[-1] if lead else ""
                m = LEAD_IN_RE.search(sentence)
                note = m.group("who") if m else None
            out.append(parse_attribution(p["passage_id"], note, p.get("county")) if note else Attribution(p["passage_id"]))
        if interview:
            last_note = interview[-1]
        if p["kind"] != "footnotes":
            previous_text = p["text"]
    return out


def update_quotes(store: Store, doc_ids: list[int] | None = None) -> int:
    """(Re)compute the attributions of the quotes of the given documents (default:
    every document with quote passages not yet attributed)."""
    ids = doc_ids if doc_ids is not None else store.documents_without_quotes_scan()
    n = 0
    for doc_id in ids:
        atts = quote_attributions(store.document_passages(doc_id))
        store.replace_quotes(doc_id, [a.to_row() for a in atts])
        n += len(atts)
    return n
