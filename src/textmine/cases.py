"""Cases of aktiv medverkan read from `dumping_case` passages: the sending and the
receiving municipality (SCB codes), the target group and the year when the text states
them, and the flows sender -> receiver they add up to.

Roles come from how the text places a municipality: "från Stockholm", "Karlstads
kommun betalade", "socialnämnden i X" (the acting, sending side); "till Filipstad",
"en lägenhet i Perstorp", "mottagande kommun" (the receiving side). A municipality's own
review of people moving in names the reviewing municipality as the receiver. Nothing
is guessed beyond that: an unknown side stays unknown."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from .nlp.gazetteer import load_gazetteer
from .store import Store

YEAR_RE = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
UNKNOWN = "okänd"


@dataclass
class Case:
    passage_id: str
    document: int
    title: str
    page: int
    sender: str | None = None  # SCB code
    receiver: str | None = None
    sender_county: str | None = None
    receiver_county: str | None = None
    target_groups: list[str] = field(default_factory=list)
    year: int | None = None
    score: float = 0.0
    text: str = ""

    def to_json(self) -> dict:
        gaz = load_gazetteer()
        d = asdict(self)
        d["sender_name"] = gaz.municipality_name(self.sender) if self.sender else None
        d["receiver_name"] = gaz.municipality_name(self.receiver) if self.receiver else None
        return d


@lru_cache(maxsize=1)
def _name_pattern() -> tuple[re.Pattern, dict[str, str]]:
    """One regex for every municipality name and genitive; name -> SCB code."""
    gaz = load_gazetteer()
    names: dict[str, str] = {}
    for m in gaz.municipalities.values():
        for n in {m.name, m.genitive}:
            names[n] = m.code
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\wåäöÅÄÖ])({alternatives})(?![\wåäöÅÄÖ])(\s+(?:kommuns?|stads?|Stads?))?"), names


SENDER_BEFORE = re.compile(r"(?:från|lämnade|socialnämnden i|nämnden i|socialtjänsten i|avsändande kommun(?:en)?,?)\s*$", re.I)
RECEIVER_BEFORE = re.compile(r"(?:till|flyttade in i|lägenhet(?:en)? i|bostad i|kontrakt i|hyresvärd i|mottagande kommun(?:en)?,?|"
                             r"tackat nej till lägenheten i|in i)\s*$", re.I)
SENDER_AFTER = re.compile(r"^\s*(?:kommuns?|stads?)?\s*(?:socialtjänst|socialnämnd|betalade|krävde|förmedlade|hänvisade|"
                          r"skickade|erbjöd|stod för|bekostade|uppmanade)", re.I)


def municipality_roles(text: str) -> tuple[list[str], list[str]]:
    """SCB codes named as sending and as receiving in a text, in order of mention."""
    pattern, names = _name_pattern()
    gaz = load_gazetteer()
    senders, receivers = [], []
    for m in pattern.finditer(text):
        code = names[m.group(1)]
        muni = gaz.municipalities[code]
        # a name that is also a common word counts only as "X kommun/stad"
        if muni.ambiguous and not m.group(2):
            continue
        before = text[max(0, m.start() - 40):m.start()]
        after = text[m.end():m.end() + 40]
        if SENDER_BEFORE.search(before) or SENDER_AFTER.match(after):
            senders.append(code)
        elif RECEIVER_BEFORE.search(before):
            receivers.append(code)
    return senders, receivers


def extract_case(row: dict, facets: list[tuple[str, str]]) -> Case:
    gaz = load_gazetteer()
    senders, receivers = municipality_roles(row["text"])
    case = Case(row["passage_id"], row["doc_id"], row["title"] or "", row["page_start"], score=row.get("score") or 0.0,
                text=row["text"])
    issuer = gaz.municipality_of_issuer(row.get("issuer"))
    title = row.get("title") or ""
    if issuer and row.get("doc_type") in ("municipal_review", "press_release"):
        if re.search(r"inflytt|flyttar? (?:\w+ )*till " + re.escape(issuer.name), title, re.I):
            # a municipality's review of people moving in: the reviewing municipality receives
            if issuer.code not in senders:
                receivers = [issuer.code] + [r for r in receivers if r != issuer.code]
        elif not senders:
            # its review of its own work with households seeking housing: it is the sending side
            senders = [issuer.code]
    if not senders and row.get("title"):
        # "Redovisning av inflyttning ... från Stockholms stad": the document names the sender
        senders = municipality_roles(row["title"])[0]
    case.sender = next((s for s in senders if s not in receivers[:1]), None)
    case.receiver = next((r for r in receivers if r != case.sender), None)
    case.sender_county = gaz.county_of(case.sender) if case.sender else None
    case.receiver_county = gaz.county_of(case.receiver) if case.receiver else None
    case.target_groups = sorted({norm for label, norm in facets if label == "TARGET_GROUP"})
    years = [int(y) for y in YEAR_RE.findall(row["text"])]
    if years:
        case.year = max(years)
    elif row.get("date"):
        case.year = int(row["date"][:4])
    return case


def cases(store: Store, *, min_score: float | None = None) -> list[Case]:
    """A case for every dumping_case passage."""
    rows = store.labelled_passages("dumping_case", min_score, None)
    facets = store.passage_facets([r["id"] for r in rows]) if rows else {}
    return [extract_case(r, facets.get(r["id"], [])) for r in rows]


@dataclass
class Flow:
    sender: str  # SCB code or county code, or "okänd"
    receiver: str
    passages: list[str]
    sender_name: str = ""
    receiver_name: str = ""

    def to_json(self) -> dict:
        return {"sender": self.sender, "receiver": self.receiver, "sender_name": self.sender_name,
                "receiver_name": self.receiver_name, "count": len(self.passages), "passages": self.passages}


def flows(case_list: list[Case], level: str = "county") -> list[Flow]:
    """Sender -> receiver, by county (default) or municipality; a case with neither side
    known is left out, a case with one side known keeps the other as "okänd"."""
    gaz = load_gazetteer()
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in case_list:
        s, r = (c.sender_county, c.receiver_county) if level == "county" else (c.sender, c.receiver)
        if s is None and r is None:
            continue
        groups[(s or UNKNOWN, r or UNKNOWN)].append(c.passage_id)

    def name(code: str) -> str:
        if code == UNKNOWN:
            return UNKNOWN
        if level == "county":
            return gaz.counties[code].name if code in gaz.counties else code
        return gaz.municipality_name(code) or code

    out = [Flow(s, r, sorted(set(p)), name(s), name(r)) for (s, r), p in groups.items()]
    return sorted(out, key=lambda f: (-len(f.passages), f.sender_name, f.receiver_name))
