"""A county's overview for the national coordinator: its documents, the cases sent from
and received by its municipalities, its good examples, whether a county-wide agreement
exists, and a timeline per year.

Whether a county-wide agreement exists is read from the documents, never guessed: it is
"yes" only with evidence, a sentence of an agreement document or of a good-practice
passage that states a county-wide (länsgemensam) agreement or routine, or that all of the
county's municipalities are party to one, or an agreement document naming every
municipality of the county. The evidence is returned with document and page."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field

from .cases import Case, cases, flows, named_municipalities
from .errors import NotFound
from .nlp.gazetteer import load_gazetteer
from .store import Store


class UnknownCounty(NotFound):
    """A county code or name that is not one of the 21 counties. The message is English
    for the CLI; `sv` is the Swedish one for the web pages."""

    def __init__(self, value: str):
        v = " ".join(str(value).split())[:60]
        super().__init__(f"unknown county '{v}': give a county code (18) or a name (Örebro län, Örebro)")
        self.sv = f"okänt län '{v}': ange en länskod (18) eller ett namn (Örebro län, Örebro)"


def county_code(value: str) -> str:
    """"18", "Örebro län", "Örebro", "örebro läns" -> "18"; anything else: UnknownCounty."""
    gaz = load_gazetteer()
    v = " ".join(str(value or "").split())
    if v.isdigit() and v.zfill(2) in gaz.counties:
        return v.zfill(2)
    low = v.lower()
    for c in gaz.counties.values():
        names = {c.name.lower(), c.short.lower(), *(a.lower() for a in c.aliases),
                 c.name.lower().removesuffix(" län").removesuffix("s")}
        if low in names or low.removesuffix(" län").removesuffix("s") in names:
            return c.code
    raise UnknownCounty(value)


@dataclass
class CountyDocument:
    id: int
    title: str
    doc_type: str
    date: str | None
    issuer: str | None
    why: str  # "issuer" (issued in the county) or "facts" (the county is the document's county)


@dataclass
class AgreementEvidence:
    document: int
    title: str
    doc_type: str
    page: int
    passage_id: str
    quote: str
    reason: str  # in Swedish: what the quote shows


@dataclass
class CountyAgreement:
    exists: bool
    evidence: list[AgreementEvidence] = field(default_factory=list)


@dataclass
class YearCount:
    year: int
    documents: int = 0
    cases_in: int = 0
    cases_out: int = 0
    examples: int = 0


@dataclass
class CountyOverview:
    code: str
    name: str
    municipalities: list[dict]
    documents: list[CountyDocument]
    cases_out: list[dict]  # Case.to_json(): a municipality of the county sends
    cases_in: list[dict]  # ... receives
    flows_out: list[dict]  # by receiving county
    flows_in: list[dict]  # by sending county
    examples: list[dict]  # practice.GoodExample.to_json(), rejected ones left out
    agreement: CountyAgreement
    timeline: list[YearCount]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class CountySummary:
    code: str
    name: str
    documents: int
    cases_out: int
    cases_in: int
    examples: int
    agreement: bool

    def to_json(self) -> dict:
        return asdict(self)


# --- county-wide agreements --------------------------------------------------------------

AGREEMENT_WORDS = re.compile(r"överenskommelse|avtal|rutin|skrivit under|undertecknat|ingått|avsiktsförklaring", re.I)
COUNTY_WIDE = re.compile(
    r"länsgemensam\w*|länsövergripande|(?:samtliga|alla)(?: \w+)? kommuner(?:na)? i (?:länet|[A-ZÅÄÖ]\w+ län)|"
    r"länets (?:samtliga|alla)(?: \w+)? kommuner|(?:samtliga|alla) länets(?: \w+)? kommuner", re.I)
NEGATED = re.compile(r"\b(?:ingen|inget|inte|saknas|saknar|ej)\b", re.I)
# a proposal or work under way is not an agreement that exists
NOT_YET = re.compile(r"föreslå\w*|förslag|\bbör\b|tas fram|planeras|pågår|påbörja\w*|sikte på|utvidgas|kommer att|"
                     r"i andra län|ska tas|arbetar (?:\w+ )?med att|\bvill\b", re.I)
NEAR = 60  # the county-wide words and the agreement word within this many characters
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ\d\"”])|\n+")


def _counties_named(sentence: str) -> set[str]:
    gaz = load_gazetteer()
    out = set()
    for c in gaz.counties.values():
        for n in {c.name, c.short + "s län", c.short + " län", *(a for a in c.aliases if " " in a)}:
            if n and re.search(rf"(?<!\w){re.escape(n)}(?!\w)", sentence):
                out.add(c.code)
    return out


def agreement_evidence(store: Store) -> dict[str, list[AgreementEvidence]]:
    """County code -> evidence of a county-wide agreement, from agreement documents and
    good-practice passages. A sentence naming a county counts for that county; one saying
    "länet" counts for its document's county."""
    gaz = load_gazetteer()
    rows = store.passage_rows("d.doc_type = 'agreement' ORDER BY d.id, p.seq")
    seen = {r["passage_id"] for r in rows}
    rows += [r for r in store.labelled_passages("good_practice") if r["passage_id"] not in seen]
    out: dict[str, list[AgreementEvidence]] = {}

    def add(county: str, r: dict, quote: str, reason: str) -> None:
        ev = AgreementEvidence(r["doc_id"], r["title"] or "", r["doc_type"], r["page_start"], r["passage_id"],
                               " ".join(quote.split())[:400], reason)
        if not any(e.passage_id == ev.passage_id and e.reason == reason for e in out.get(county, [])):
            out.setdefault(county, []).append(ev)

    for r in rows:
        for sentence in SENTENCE.split(r["text"]):
            m = COUNTY_WIDE.search(sentence)
            if not m or NEGATED.search(sentence) or NOT_YET.search(sentence):
                continue
            if not AGREEMENT_WORDS.search(sentence[max(0, m.start() - NEAR):m.end() + NEAR]):
                continue
            named = _counties_named(sentence)
            targets = named or ({r["county"]} if r.get("county") else set())
            reason = ("länsgemensam överenskommelse eller rutin" if m.group(0).lower().startswith("läns")
                      else "samtliga kommuner i länet står bakom")
            for county in targets:
                add(county, r, sentence, reason)
    # an agreement document whose parties are every municipality of its county
    by_doc: dict[int, list[dict]] = {}
    for r in (r for r in rows if r["doc_type"] == "agreement"):
        by_doc.setdefault(r["doc_id"], []).append(r)
    for doc_rows in by_doc.values():
        named = set()
        best, best_n = doc_rows[0], -1
        for r in doc_rows:
            here = set(named_municipalities(r["text"]))
            named |= here
            if len(here) > best_n:
                best, best_n = r, len(here)
        for code, county in gaz.counties.items():
            members = {m.code for m in gaz.municipalities.values() if m.county_code == code}
            if members and members <= named:
                add(code, best, f"Parter: {', '.join(sorted(gaz.municipalities[c].name for c in members))}.",
                    f"alla {len(members)} kommuner i länet är parter")
    return out


# --- the overview ----------------------------------------------------------------------------


def county_documents(store: Store, code: str) -> list[CountyDocument]:
    """Documents whose county (from their facts) is this one, or issued by one of its
    municipalities."""
    gaz = load_gazetteer()
    out = []
    for d in store.list_documents():
        issuer = gaz.municipality_of_issuer(d.get("issuer"))
        facts = json.loads(d.get("facts") or "{}") if d.get("facts") else {}
        fact_county = ((facts.get("county") or {}).get("code")) or d.get("county")
        if issuer and issuer.county_code == code:
            why = "issuer"
        elif fact_county == code:
            why = "facts"
        else:
            continue
        out.append(CountyDocument(d["id"], d.get("title") or "", d["doc_type"], d.get("date"), d.get("issuer"), why))
    return sorted(out, key=lambda x: (x.date or "", x.id), reverse=True)


def _examples(store: Store, code: str | None = None) -> list[dict]:
    from .practice import list_examples

    return [e.to_json() for e in list_examples(store, county=code) if e.state != "rejected"]


def _year(value) -> int | None:
    s = str(value or "")[:4]
    return int(s) if s.isdigit() else None


def county_overview(store: Store, county: str, *, case_list: list[Case] | None = None,
                    evidence: dict[str, list[AgreementEvidence]] | None = None) -> CountyOverview:
    """Everything the county page shows. `county` is a code or a name; the case list and
    the agreement evidence can be passed in when several counties are shown at once."""
    gaz = load_gazetteer()
    code = county_code(county)
    found = cases(store) if case_list is None else case_list
    evidence = agreement_evidence(store) if evidence is None else evidence
    out_cases = [c for c in found if c.sender_county == code]
    in_cases = [c for c in found if c.receiver_county == code]
    docs = county_documents(store, code)
    examples = _examples(store, code)
    years: dict[int, YearCount] = {}

    def tally(year: int | None, what: str) -> None:
        if year:
            row = years.setdefault(year, YearCount(year))
            setattr(row, what, getattr(row, what) + 1)

    for d in docs:
        tally(_year(d.date), "documents")
    for c in out_cases:
        tally(c.year, "cases_out")
    for c in in_cases:
        tally(c.year, "cases_in")
    for e in examples:
        tally(_year(e.get("date")), "examples")
    ev = evidence.get(code, [])
    return CountyOverview(
        code=code, name=gaz.counties[code].name,
        municipalities=[{"code": m.code, "name": m.name} for m in sorted(gaz.municipalities.values(), key=lambda m: m.name)
                        if m.county_code == code],
        documents=docs, cases_out=[c.to_json() for c in out_cases], cases_in=[c.to_json() for c in in_cases],
        flows_out=[f.to_json() for f in flows(out_cases, "county")], flows_in=[f.to_json() for f in flows(in_cases, "county")],
        examples=examples, agreement=CountyAgreement(bool(ev), ev), timeline=[years[y] for y in sorted(years)],
    )


def county_list(store: Store) -> list[CountySummary]:
    """The 21 counties with their counts, in code order."""
    gaz = load_gazetteer()
    found = cases(store)
    evidence = agreement_evidence(store)
    examples = Counter(e.get("county") for e in _examples(store))
    docs = Counter()
    for code in gaz.counties:
        docs[code] = len(county_documents(store, code))
    out_n = Counter(c.sender_county for c in found)
    in_n = Counter(c.receiver_county for c in found)
    return [CountySummary(code, c.name, docs[code], out_n[code], in_n[code], examples[code], bool(evidence.get(code)))
            for code, c in sorted(gaz.counties.items())]
