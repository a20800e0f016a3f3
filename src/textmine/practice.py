"""The good-example catalogue for the national coordinator: records built from
`good_practice` passages (title, parties, county, date, kind, the mechanism in one
sentence, source document and page), reviewed from candidate to verified or rejected,
and gathered into collections that the report (report.py) compiles.

Building is by rules over what earlier steps stored: the passage labels (labels.py),
the passage's entities (KOMMUN, LAN, DATE facets) and the document's metadata. An
agreement document is one example; elsewhere adjacent good-practice passages of one
section are one example, so a report's account of a county network is not split in
three. Nothing is invented: a field the text does not give stays empty for the
reviewer to fill in."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from .errors import TextmineError
from .nlp.gazetteer import load_gazetteer
from .store import Store

KINDS = ("agreement", "routine", "network", "training", "other")
KINDS_SV = {"agreement": "Överenskommelse", "routine": "Rutin", "network": "Nätverk", "training": "Utbildning",
            "other": "Annat arbetssätt"}
STATES = ("candidate", "verified", "rejected")
STATES_SV = {"candidate": "Kandidat", "verified": "Verifierad", "rejected": "Avvisad"}

# what marks each kind; counted in the example's text (the document title counts double)
KIND_PATTERNS = {
    "agreement": r"överenskommelse\w*|avsiktsförklaring\w*|samverkansavtal\w*|samarbetsavtal\w*|\bavtal(?:et|en)?\b|"
                 r"överenskommit|undertecknat?",
    "routine": r"\brutin\w*|riktlinje\w*|checklist\w*|samtyckesblankett\w*|blankett\w*|arbetssätt\w*",
    "network": r"nätverk\w*|samverkansforum|regelbundna möten|länsgemensam(?:ma)? grupp\w*|träffas regelbundet|"
               r"samverkansgrupp\w*",
    "training": r"utbildning\w*|workshop\w*|seminari\w*|konferens\w*|kompetens\w*|utbildningsdag\w*|föreläsning\w*",
}
_KIND_RE = {k: re.compile(v, re.I) for k, v in KIND_PATTERNS.items()}

# what the practice is about, for a title that says more than the kind
TOPICS = (
    (re.compile(r"samtycke", re.I), "samtycke och informationsöverföring"),
    (re.compile(r"informera\w* (?:den )?mottagande|informationsöverföring|underrätta|kontakta\w* (?:den )?mottagande",
                re.I), "information till mottagande kommun"),
    (re.compile(r"bostadsrådgivning|boenderådgivning|bostadssociala", re.I), "bostadsrådgivning"),
    (re.compile(r"\bflytt\w*", re.I), "samverkan vid flytt"),
)

# a sentence that says how the practice works
MECHANISM = re.compile(
    r"\b(?:ska|skall|åtar sig|innebär|informera\w*|kontakta\w*|samtycke\w*|underrätta\w*|senast|minst \d+ dagar|"
    r"före flytt\w*|innan \w+ flytt\w*|träffas|delar|gemensam\w*|rutin\w*|följs upp|ansvarar)\b", re.I)
# a sentence ends before a capital: "3 kap. 5 § SoL" and "bl.a. tre" are not split
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ\"“])")
# findings and proposals about the practice are not the practice
NOT_MECHANISM = re.compile(r"\b(?:föreslår|framkom|framförde|bedömer|saknas)\b|\|", re.I)
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_MECHANISM = 320


class PracticeError(TextmineError):
    """A catalogue request that cannot be done."""


@dataclass
class GoodExample:
    """One record of the catalogue, as stored and as printed with --json."""
    id: int
    title: str
    kind: str
    state: str
    county: str | None
    county_name: str | None
    parties: list[dict]
    date: str | None
    mechanism: str
    document: int | None
    doc_title: str
    doc_type: str | None
    doc_issuer: str | None
    path: str | None
    page: int | None  # the first page, where a link opens the document
    pages: list[int]
    passage_ids: list[str]
    score: float | None
    reviewer: str | None = None
    note: str = ""
    edited: list[str] = field(default_factory=list)
    text: str = ""
    collections: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def citation(self) -> str:
        """Document title and page(s), as a report cites it."""
        return f"{self.doc_title}, {page_list(self.pages)}" if self.pages else self.doc_title


def page_list(pages: list[int]) -> str:
    """"s. 5–6, 9": pages as ranges."""
    parts, start = [], None
    for i, p in enumerate(pages):
        if start is None:
            start = p
        if i + 1 == len(pages) or pages[i + 1] != p + 1:
            parts.append(str(start) if start == p else f"{start}–{p}")
            start = None
    return "s. " + ", ".join(parts)


def example_from_row(row: dict, collections: list[str] | None = None) -> GoodExample:
    gaz = load_gazetteer()
    county = row["county"]
    return GoodExample(
        id=row["id"], title=row["title"], kind=row["kind"], state=row["state"], county=county,
        county_name=gaz.counties[county].name if county in gaz.counties else None,
        parties=[{"code": c, "name": gaz.municipality_name(c) or c} for c in row["parties"]],
        date=row["date"], mechanism=row["mechanism"], document=row.get("live_doc"), doc_title=row["doc_title"],
        doc_type=row["doc_type"], doc_issuer=row["doc_issuer"], path=row["doc_path"],
        page=row["pages"][0] if row["pages"] else None, pages=row["pages"], passage_ids=row["passage_ids"], score=row["score"], reviewer=row["reviewer"],
        note=row["note"], edited=row["edited"], text=row["text"], collections=collections or [],
    )


# --- building ---------------------------------------------------------------------------


def kind_of(text: str, doc_title: str, doc_type: str | None) -> str:
    """The kind whose phrases the text uses most; an agreement document is an agreement."""
    if doc_type == "agreement" and _KIND_RE["agreement"].search(doc_title):
        return "agreement"
    counts = {k: len(r.findall(text)) + 2 * len(r.findall(doc_title)) for k, r in _KIND_RE.items()}
    best = max(counts, key=lambda k: (counts[k], -KINDS.index(k)))
    return best if counts[best] else "other"


def mechanism_of(text: str) -> str:
    """The sentence that best says how the practice works: most mechanism words,
    the earliest on a tie; cut at a word boundary."""
    sentences = [s.strip() for s in SENTENCE_END.split(" ".join(text.split())) if len(s.strip()) > 25]
    if not sentences:
        return ""
    best = max(sentences, key=lambda s: (not NOT_MECHANISM.search(s), len(MECHANISM.findall(s)), -sentences.index(s)))
    best = re.sub(r"\s+\d{1,2}\.$", "", best)  # the number of the next list item
    if len(best) > MAX_MECHANISM:
        best = best[:MAX_MECHANISM].rsplit(" ", 1)[0] + " …"
    return best


def title_of(kind: str, text: str, doc_title: str, doc_type: str | None, parties: list[str], county: str | None) -> str:
    """The agreement's own title when the document is the agreement; otherwise the kind,
    what it is about, and who."""
    if doc_type == "agreement" and doc_title:
        return doc_title
    gaz = load_gazetteer()
    topic = next((t for r, t in TOPICS if r.search(text)), "")
    names = [gaz.municipality_name(c) or c for c in parties]
    if 0 < len(names) <= 4:
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]
    elif county in gaz.counties:
        who = gaz.counties[county].name
    else:
        who = ""
    title = KINDS_SV[kind] + (f" om {topic}" if topic else "")
    return f"{title} – {who}" if who else title


def county_of(facets: list[tuple[str, str]], parties: list[str], doc_county: str | None) -> str | None:
    """The county the text names; else the one county of all parties; else the document's."""
    gaz = load_gazetteer()
    named = sorted({n for label, n in facets if label == "LAN" and n in gaz.counties})
    if len(named) == 1:
        return named[0]
    party_counties = {gaz.county_of(c) for c in parties} - {None}
    if len(party_counties) == 1:
        return party_counties.pop()
    if doc_county in gaz.counties:
        return doc_county
    return named[0] if named else None


def date_of(facets: list[tuple[str, str]], doc_date: str | None) -> str | None:
    """The latest full date the text gives that is not after the document's own date
    (a later one is a deadline, not when the practice began); else the document's date."""
    dates = sorted(n for label, n in facets if label == "DATE" and DATE_RE.match(n) and (not doc_date or n <= doc_date))
    return dates[-1] if dates else doc_date


def _runs(rows: list[dict]) -> list[list[dict]]:
    """Group a document's good-practice passages: a whole agreement document is one
    run; elsewhere passages next to each other (seq within 1) under one heading."""
    runs: list[list[dict]] = []
    for r in sorted(rows, key=lambda r: (r["doc_id"], r["seq"])):
        last = runs[-1][-1] if runs else None
        if last is not None and last["doc_id"] == r["doc_id"] and (
                r["doc_type"] == "agreement" or (r["seq"] - last["seq"] <= 1 and r["heading_path"] == last["heading_path"])):
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def _merge_runs(runs: list[list[dict]], kinds: list[str], parties: list[list[str]]) -> list[list[int]]:
    """Indexes of runs that describe one practice: in one document, of one kind, naming
    the same municipalities (a report tells of the Växjö–Lessebo agreement on pages 5,
    6 and 9 under three headings)."""
    groups: dict[tuple, list[int]] = {}
    for i, run in enumerate(runs):
        groups.setdefault((run[0]["doc_id"], kinds[i], tuple(parties[i])), []).append(i)
    return sorted(groups.values())


def build_candidates(store: Store, *, min_score: float | None = None) -> list[dict]:
    """What the builder finds in the store now: one record (as a dict of the stored
    fields) per run of good-practice passages."""
    rows = store.labelled_passages("good_practice", min_score, None)
    if not rows:
        return []
    facets = store.passage_facets([r["id"] for r in rows])
    gaz = load_gazetteer()
    runs = _runs(rows)
    texts = ["\n".join(r["text"] for r in run) for run in runs]
    run_facets = [[f for r in run for f in facets.get(r["id"], [])] for run in runs]
    parties = [sorted({n for label, n in fs if label == "KOMMUN" and n in gaz.municipalities},
                      key=lambda c: gaz.municipality_name(c) or c) for fs in run_facets]
    kinds = [kind_of(t, run[0]["title"] or "", run[0]["doc_type"]) for t, run in zip(texts, runs)]
    out = []
    for group in _merge_runs(runs, kinds, parties):
        members = [r for i in group for r in runs[i]]
        first, kind, who = members[0], kinds[group[0]], parties[group[0]]
        text = "\n".join(texts[i] for i in group)
        fs = [f for i in group for f in run_facets[i]]
        doc_title = first["title"] or ""
        county = county_of(fs, who, first["county"])
        out.append({
            "key": first["passage_id"], "passage_ids": [r["passage_id"] for r in members], "doc_id": first["doc_id"],
            "doc_sha256": first.get("sha256"), "doc_title": doc_title,
            "doc_type": first["doc_type"], "doc_path": first["path"], "doc_issuer": first["issuer"],
            "pages": sorted({p for r in members for p in range(r["page_start"], r["page_end"] + 1)}),
            "title": title_of(kind, text, doc_title, first["doc_type"], who, county), "kind": kind,
            "county": county, "parties": who, "date": date_of(fs, first["date"]),
            "mechanism": mechanism_of(text), "text": text, "score": max(r["score"] for r in members),
        })
    return out


def build_catalogue(store: Store, *, min_score: float | None = None) -> dict:
    """Bring the catalogue up to date with the store's good-practice passages; reviewed
    examples and reviewers' edits are kept. Returns counts added/updated/dropped."""
    counts = store.upsert_examples(build_candidates(store, min_score=min_score))
    counts["examples"] = len(store.examples())
    return counts


# --- reading and reviewing ----------------------------------------------------------------


def check_state(state: str | None) -> str | None:
    if state is not None and state not in STATES:
        raise PracticeError(f"unknown state '{state}': use one of {', '.join(STATES)}")
    return state


def check_kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise PracticeError(f"unknown kind '{kind}': use one of {', '.join(KINDS)}")
    return kind


def county_code(value: str | None) -> str | None:
    """A county code from a code ("18"), a name ("Örebro län") or a short name ("Örebro")."""
    if value is None or not str(value).strip():
        return None
    gaz = load_gazetteer()
    v = " ".join(str(value).split()).lower()
    for c in gaz.counties.values():
        if v in {c.code.lower(), c.name.lower(), c.short.lower(), *(a.lower() for a in c.aliases)}:
            return c.code
    raise PracticeError(f"unknown county '{value}': give a county code (18) or name (Örebro län)")


def list_examples(store: Store, *, state: str | None = None, county: str | None = None, kind: str | None = None,
                  collection: str | int | None = None, document: int | None = None) -> list[GoodExample]:
    """Catalogue records, filtered; by county (code or name), state, kind, collection."""
    check_state(state)
    check_kind(kind)
    coll = store.collection(collection)["id"] if collection not in (None, "") else None
    rows = store.examples(state=state, county=county_code(county), kind=kind, collection=coll, doc_id=document)
    return [example_from_row(r) for r in rows]


def get_example(store: Store, example_id: int) -> GoodExample:
    return example_from_row(store.example(example_id), [c["name"] for c in store.example_collections(example_id)])


def review_example(store: Store, example_id: int, *, state: str, reviewer: str, note: str = "",
                   title: str | None = None, kind: str | None = None, county: str | None = None,
                   parties: list[str] | None = None, date: str | None = None,
                   mechanism: str | None = None) -> GoodExample:
    """A reviewer's decision (verified / rejected / back to candidate) with a note, and
    corrections of the fields the builder filled in (kept on later rebuilds)."""
    check_state(state)
    reviewer = " ".join((reviewer or "").split())
    if not reviewer or len(reviewer) > 80:
        raise PracticeError("a review needs the reviewer's name (at most 80 characters)")
    if state == "rejected" and not (note or "").strip():
        raise PracticeError("say why in a note when rejecting an example")
    prev = store.example(example_id)
    changes: dict = {}
    if title is not None and " ".join(title.split()) != prev["title"]:
        if not title.strip():
            raise PracticeError("the title cannot be empty")
        changes["title"] = " ".join(title.split())[:300]
    if kind is not None and kind != prev["kind"]:
        changes["kind"] = check_kind(kind)
    if county is not None and (county_code(county) if county.strip() else None) != prev["county"]:
        changes["county"] = county_code(county) if county.strip() else None
    if parties is not None:
        codes = sorted({_municipality_code(p) for p in parties if p.strip()})
        if codes != sorted(prev["parties"]):
            changes["parties"] = codes
    if date is not None and (date.strip() or None) != prev["date"]:
        if date.strip() and not re.match(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$", date.strip()):
            raise PracticeError(f"'{date}' is not a date: write 2022-03-15, 2022-03 or 2022")
        changes["date"] = date.strip() or None
    if mechanism is not None and " ".join(mechanism.split()) != prev["mechanism"]:
        changes["mechanism"] = " ".join(mechanism.split())[:1000]
    store.review_example(example_id, reviewer, state, (note or "").strip()[:2000], changes)
    return get_example(store, example_id)


def _municipality_code(value: str) -> str:
    gaz = load_gazetteer()
    v = " ".join(value.split())
    if v in gaz.municipalities:
        return v
    low = v.lower().removesuffix(" kommun").removesuffix(" stad")
    for m in gaz.municipalities.values():
        if low in {m.name.lower(), m.official.lower(), m.genitive.lower()}:
            return m.code
    raise PracticeError(f"unknown municipality '{value}': give its name (Laxå) or SCB code (1860)")


# --- collections --------------------------------------------------------------------------


def create_collection(store: Store, name: str, description: str = "") -> dict:
    name = " ".join((name or "").split())
    if not name or len(name) > 120:
        raise PracticeError("a collection needs a name (at most 120 characters)")
    if name.isdigit():
        raise PracticeError("a collection's name cannot be only digits (they are read as its id)")
    if any(c["name"].lower() == name.lower() for c in store.collections()):
        raise PracticeError(f"there is already a collection named '{name}'")
    return store.collection(store.add_collection(name, (description or "").strip()[:2000]))


def add_to_collection(store: Store, collection: str | int, example_ids: list[int]) -> int:
    coll = store.collection(collection)
    for eid in example_ids:
        store.example(eid)  # NotFound with the id
    return store.add_to_collection(coll["id"], example_ids)


def remove_from_collection(store: Store, collection: str | int, example_ids: list[int]) -> int:
    return store.remove_from_collection(store.collection(collection)["id"], example_ids)
