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
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from .errors import NotFound, TextmineError
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
    # the sides ("sender", "receiver") read from the document's main flow rather than from
    # the passage itself: the passage names one side, or names the municipalities without roles
    context: list[str] = field(default_factory=list)
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


# Cues around a municipality's name, as (pattern, weight). A strong cue says what the
# municipality did or where the person went ("från X", "X betalade", "till X", "en
# lägenhet i X"); a weak one only places a committee or a person there ("socialnämnden i
# X", "bodde i X"), which both sides have, so a strong cue of the other role outweighs it.
STRONG, WEAK = 2, 1
SENDER_BEFORE = [
    (re.compile(r"(?:från|lämnade|avsändande kommun(?:en)?,?|tidigare hemkommun(?:en)?,?)\s*$", re.I), STRONG),
    (re.compile(r"(?:nämnden i|socialtjänsten i|socialsekreteraren i|handläggaren i|bodde (?:\w+ ){0,3}i|"
                r"(?:bostadslösa|hemlösa|härbärge|akutboende) i)\s*$", re.I), WEAK),
]
SENDER_AFTER = [
    (re.compile(r"^\s*(?:kommuns?|stads?)?\s*(?:betalade|krävde|förmedlade|hänvisade|skickade|erbjöd|stod för|bekostade|"
                r"uppmanade|ordnade|hade ordnat|har ordnat|hade förmedlat|har förmedlat|har betalat|hade betalat|tipsade|"
                r"delade ut|beviljade (?:\w+ )?flytt)", re.I), STRONG),
    (re.compile(r"^\s*(?:kommuns?|stads?)?\s*(?:socialtjänst|socialnämnd)", re.I), WEAK),
]
RECEIVER_BEFORE = [
    (re.compile(r"(?:till|flyttade in i|flyttat in i|lägenhet(?:en|er|erna)? i|bostad(?:en|er)? i|kontrakt i|hyresvärd i|"
                r"mottagande kommun(?:en)?,?|tackat nej till lägenheten i|in i|bosatt i|bosatta i|folkbokförd i)\s*$", re.I), STRONG),
]
RECEIVER_AFTER = [
    (re.compile(r"^\s*(?:kommuns?|stads?)?\s*(?:socialnämnd\S*|socialtjänst\S*)?\s*(?:underrättades|informerades|"
                r"fick (?:inte )?(?:veta|kännedom|information)|tog emot|har tagit emot|tar emot|mottog)", re.I), STRONG),
]
# "till" that is not where the person moved: placement under the settlement act, being
# referred back, an appeal; "från X:s sida" is a point of view, not an origin
NOT_A_MOVE = re.compile(r"(?:anvisa\w*|hänvisa\w*|vända sig|vände sig|överklaga\w*|ansökte)(?: \w+){0,3} till\s*$", re.I)
NOT_AN_ORIGIN_AFTER = re.compile(r"^\s*sida\b", re.I)
DASH_PAIR = re.compile(r"^\s*[–-]\s*$")
COUNTY_AFTER = re.compile(r"\s+län\b")
PLACE_BEFORE = re.compile(r"\b(?:från|till|i)\s+$")


def _role_scores(text: str) -> dict[str, list[int]]:
    """code -> [sender score, receiver score, position of first mention]."""
    pattern, names = _name_pattern()
    gaz = load_gazetteer()
    scores: dict[str, list[int]] = {}
    found: list[tuple[re.Match, str | None]] = []
    for m in pattern.finditer(text):
        code = names[m.group(1)]
        if COUNTY_AFTER.match(text, m.end()):  # "Stockholms län" is the county, not the municipality
            continue
        # a name that is also a common word or a surname (Mora, Norberg) counts only as
        # "X kommun/stad", after a place preposition, or in a dash pair with another place
        if gaz.municipalities[code].ambiguous and not m.group(2) and not PLACE_BEFORE.search(text[max(0, m.start() - 8):m.start()]):
            found.append((m, None))
            continue
        found.append((m, code))
        entry = scores.setdefault(code, [0, 0, m.start()])
        before = text[max(0, m.start() - 40):m.start()]
        after = text[m.end():m.end() + 40]
        for rx, w in SENDER_BEFORE:
            if rx.search(before) and not NOT_AN_ORIGIN_AFTER.match(after):
                entry[0] += w
                break
        for rx, w in SENDER_AFTER:
            if rx.match(after):
                entry[0] += w
                break
        for rx, w in RECEIVER_BEFORE + RECEIVER_AFTER:
            if (rx.search(before) if rx.pattern.endswith("$") else rx.match(after)) and not NOT_A_MOVE.search(before):
                entry[1] += w
                break
    # "fallet Västerås–Norberg": a pair of two (not three) names joined by a dash reads sender–receiver
    for i in range(len(found) - 1):
        (m1, a), (m2, b) = found[i], found[i + 1]
        if a == b or (a is None and b is None) or not DASH_PAIR.match(text[m1.end():m2.start()]):
            continue
        a, b = a or names[m1.group(1)], b or names[m2.group(1)]
        for code, m in ((a, m1), (b, m2)):
            scores.setdefault(code, [0, 0, m.start()])
        if DASH_PAIR.match(text[max(0, m1.start() - 3):m1.start()] + "") or re.match(r"^\s*[–-]", text[m2.end():m2.end() + 3]):
            continue
        scores[a][0] += STRONG
        scores[b][1] += STRONG
    return scores


def municipality_roles(text: str) -> tuple[list[str], list[str]]:
    """SCB codes named as sending and as receiving in a text, in order of mention: a
    municipality takes the role its cues weigh more for."""
    scores = _role_scores(text)
    order = sorted(scores, key=lambda c: scores[c][2])
    senders = [c for c in order if scores[c][0] > scores[c][1]]
    receivers = [c for c in order if scores[c][1] > scores[c][0]]
    return senders, receivers


def named_municipalities(text: str) -> list[str]:
    """Every municipality named in a text, with or without a role, in order of mention."""
    scores = _role_scores(text)
    return sorted(scores, key=lambda c: scores[c][2])


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


def main_flow(rows: list[dict], found: list[Case]) -> tuple[str, str] | None:
    """The flow a document is about: the one its title states ("... från Karlstads kommun
    till Filipstad"), else the pair most of its passages state (at least two, and at least
    half of the passages that state a pair). None for a document about several flows."""
    if rows:
        senders, receivers = municipality_roles(rows[0].get("title") or "")
        if senders and receivers and senders[0] != receivers[0]:
            return senders[0], receivers[0]
    pairs = Counter((c.sender, c.receiver) for c in found if c.sender and c.receiver and not c.context)
    if not pairs:
        return None
    (pair, n), total = pairs.most_common(1)[0], sum(pairs.values())
    return pair if n >= 2 and 2 * n >= total else None


PARTY = re.compile(r"\b(?:MOTPART|KLAGANDE)\b(?P<who>[^\n]*\n?[^\n]{0,120})")


def ruling_party(document_text: str) -> str | None:
    """The municipality whose committee is a party of a ruling (MOTPART, or KLAGANDE when
    the committee appeals): the "nämnden" a ruling's text speaks of."""
    pattern, names = _name_pattern()
    for m in PARTY.finditer(document_text):
        who = m.group("who")
        if "nämnd" in who.lower():
            place = pattern.search(who)
            if place:
                return names[place.group(1)]
    return None


def extract_cases_of_document(rows: list[dict], facets: dict, document_text: str = "") -> list[Case]:
    """The cases of one document's dumping_case passages, in the order given.

    Context from the document, marked in `Case.context`: a passage that names one side of
    the document's main flow, or only that flow's municipalities without telling their
    roles, gets the flow's sides; in a court ruling, whose text calls the committee party
    to the case "nämnden", a case without a sender gets the party's municipality (the one
    whose decision is tried) unless that is the receiver. `document_text` is the whole
    text of a ruling, for its parties."""
    gaz = load_gazetteer()
    found = [extract_case(r, facets.get(r.get("id"), [])) for r in rows]
    party = ruling_party(document_text) if document_text and rows and rows[0].get("doc_type") == "court_ruling" else None
    if party:
        for case in found:
            if case.sender is None and case.receiver != party and (case.receiver or named_municipalities(case.text)):
                case.sender, case.context = party, ["sender"]
                case.sender_county = gaz.county_of(party)
    flow = main_flow(rows, found)
    if not flow:
        return found
    sender, receiver = flow
    for case, row in zip(found, rows):
        if case.sender and case.receiver:
            continue
        if case.sender == sender and case.receiver is None:
            case.receiver, case.context = receiver, ["receiver"]
        elif case.receiver == receiver and case.sender is None:
            case.sender, case.context = sender, ["sender"]
        elif case.sender is None and case.receiver is None:
            named = set(named_municipalities(row["text"]))
            if named and named <= {sender, receiver}:
                case.sender, case.receiver, case.context = sender, receiver, ["sender", "receiver"]
        case.sender_county = gaz.county_of(case.sender) if case.sender else None
        case.receiver_county = gaz.county_of(case.receiver) if case.receiver else None
    return found


def cases(store: Store, *, min_score: float | None = None) -> list[Case]:
    """A case for every dumping_case passage, best scored first."""
    rows = store.labelled_passages("dumping_case", min_score, None)
    facets = store.passage_facets([r["id"] for r in rows]) if rows else {}
    by_doc: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_doc[r["doc_id"]].append(r)
    found = {}
    for doc_id, doc_rows in by_doc.items():
        text = "\n".join(p["text"] for p in store.document_passages(doc_id)) if doc_rows[0]["doc_type"] == "court_ruling" else ""
        found.update((c.passage_id, c) for c in extract_cases_of_document(doc_rows, facets, text))
    return [found[r["passage_id"]] for r in rows]


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


TARGET_GROUPS = ("nyanlända", "barnfamiljer", "strukturellt hemlösa", "personer med missbruk", "skyddat boende", "ensamkommande")
LEVELS = ("county", "municipality")


class FlowError(TextmineError):
    """A flow filter or place that cannot be used. The message is English for the CLI;
    `sv` says the same in Swedish for the web pages."""

    def __init__(self, message: str, sv: str):
        super().__init__(message)
        self.sv = sv


class UnknownPlace(FlowError, NotFound):
    """A county or municipality code or name that does not exist."""


@dataclass
class FlowFilters:
    """What the flows view narrows to; the same for the CLI, the page and the API."""

    level: str = "county"
    year_from: int | None = None
    year_to: int | None = None
    target_group: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise FlowError(f"unknown level '{str(self.level)[:40]}': use county or municipality",
                            f"okänd nivå '{str(self.level)[:40]}': använd county (län) eller municipality (kommun)")
        for name in ("year_from", "year_to"):
            value = getattr(self, name)
            if value is not None and not 1900 <= value <= 2100:
                raise FlowError(f"{name} must be a year between 1900 and 2100", f"{name} måste vara ett årtal mellan 1900 och 2100")
        if self.year_from and self.year_to and self.year_from > self.year_to:
            raise FlowError("year_from is later than year_to", "year_from är senare än year_to")
        if self.target_group and self.target_group not in TARGET_GROUPS:
            raise FlowError(f"unknown target group '{self.target_group[:40]}': use one of {', '.join(TARGET_GROUPS)}",
                            f"okänd målgrupp '{self.target_group[:40]}': välj en av {', '.join(TARGET_GROUPS)}")

    def apply(self, case_list: list[Case]) -> list[Case]:
        """A year filter drops cases whose year is unknown: they cannot be placed in the range."""
        out = []
        for c in case_list:
            if (self.year_from or self.year_to) and c.year is None:
                continue
            if self.year_from and c.year < self.year_from or self.year_to and c.year > self.year_to:
                continue
            if self.target_group and self.target_group not in c.target_groups:
                continue
            out.append(c)
        return out


def resolve_place(value: str, level: str) -> str:
    """A county (code "18", "Örebro län", "Örebro") or a municipality (SCB code "1880" or
    name) as its code; "okänd" is the unknown side of a flow."""
    from .search import QueryError, resolve_county, resolve_municipality

    v = (value or "").strip()
    if v.lower() in (UNKNOWN, "unknown"):
        return UNKNOWN
    gaz = load_gazetteer()
    try:
        if level == "county":
            return resolve_county(v, gaz)
        if v.isdigit() and v.zfill(4) in gaz.municipalities:
            return v.zfill(4)
        return resolve_municipality(v, gaz)
    except QueryError:
        what = ("county", "län", "Örebro län, Dalarna", "18") if level == "county" else ("municipality", "kommun", "Hällefors", "1863")
        raise UnknownPlace(f"unknown {what[0]} '{v[:60]}': give a name ({what[2]}) or a code ({what[3]})",
                           f"okänt {what[1]} '{v[:60]}': ange ett namn ({what[2]}) eller en kod ({what[3]})"
                           if level == "county" else
                           f"okänd {what[1]} '{v[:60]}': ange ett namn ({what[2]}) eller en SCB-kod ({what[3]})") from None


def flow_cases(case_list: list[Case], level: str, sender: str | None = None, receiver: str | None = None) -> list[Case]:
    """The cases of one flow (or of everything sent from, or received by, one place), with
    codes as resolve_place returns them."""
    out = []
    for c in case_list:
        s, r = (c.sender_county, c.receiver_county) if level == "county" else (c.sender, c.receiver)
        if s is None and r is None:
            continue  # not part of any flow
        if sender is not None and (s or UNKNOWN) != sender:
            continue
        if receiver is not None and (r or UNKNOWN) != receiver:
            continue
        out.append(c)
    return out
