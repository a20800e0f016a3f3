"""The spaCy pipeline for Swedish: blank "sv" tokenizer, sentencizer, a case-insensitive
lookup lemmatiser, and the entity components:

  textmine_legal_refs  custom factory: laws, provisions, case refs, dates, money, percent,
                       diarienummer, personnummer by pattern (regexes.py, legalref.py)
  entity_ruler         spaCy's EntityRuler with patterns generated from the gazetteers
                       (municipalities, counties, courts, agencies) and nlp/data/patterns.jsonl
                       (target groups, organisations)
  textmine_resolve     custom factory: canonical ids (Span._.norm), the traps (personal
                       names, common words, "Stockholms län"), a court named before a case
                       number

`load()` builds it once per process. Entities come back as Doc.ents; each Span has
`span._.norm` (canonical id) and `span._.data` (provision parts)."""

from __future__ import annotations

import json
import re
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span

from . import regexes as rx
from .gazetteer import DATA, Gazetteer, load_gazetteer
from .legalref import find_candidates

if not Span.has_extension("norm"):
    Span.set_extension("norm", default=None)
if not Span.has_extension("data"):
    Span.set_extension("data", default=None)

PREPOSITIONS = {"i", "från", "till", "mellan", "och", "samt", "eller", "inom", "för", "av", "med", "mot", "hos", "på", "om", "vid", "än"}
# after a genitive place name these make it something else than the municipality
NOT_MUNICIPALITY_NEXT = {
    "universitet", "universitets", "högskola", "stift", "stadsmission", "domkyrka", "hamn", "lasarett",
    "sjukhus", "flygplats", "centralstation", "kommunförbund", "stadsbibliotek", "stadsarkiv", "läns", "län",
}


@lru_cache(maxsize=1)
def load() -> Language:
    """The textmine pipeline (cached per process)."""
    nlp = spacy.blank("sv")
    # "2018–30 juni 2020", "2–5 §§": an en or em dash between digits separates tokens, so
    # that a date or a range can start right after it.
    infixes = list(nlp.Defaults.infixes) + [r"(?<=[0-9A-Za-zåäöÅÄÖ])[–—](?=[0-9A-Za-zåäöÅÄÖ])"]
    nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("textmine_lemmatizer")
    nlp.add_pipe("textmine_legal_refs")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": False})
    ruler.add_patterns(gazetteer_patterns(load_gazetteer()) + data_patterns())
    nlp.add_pipe("textmine_resolve")
    return nlp


# --- lemmatiser ----------------------------------------------------------------------------


@Language.factory("textmine_lemmatizer")
def make_lemmatizer(nlp: Language, name: str):
    return CaseInsensitiveLemmatizer()


class CaseInsensitiveLemmatizer:
    """spacy-lookups-data's Swedish lookup table is keyed by lower-case forms; the stock
    lookup lemmatiser misses every capitalised word. A few frequent wrong entries are
    overridden from data/lemma_overrides.tsv."""

    def __init__(self):
        from .lookups import lemma_table

        self.table = lemma_table()
        self.overrides = {}
        path = DATA / "lemma_overrides.tsv"
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines()[1:]:
                if "\t" in line:
                    form, lemma = line.split("\t", 1)
                    self.overrides[form.strip()] = lemma.strip()

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            low = token.lower_
            token.lemma_ = self.overrides.get(low) or self.table.get(low, low)
        return doc


# --- pattern-based legal references ----------------------------------------------------------


@Language.factory("textmine_legal_refs")
def make_legal_refs(nlp: Language, name: str):
    return LegalRefs(load_gazetteer())


class LegalRefs:
    def __init__(self, gaz: Gazetteer):
        self.law_names = gaz.law_names()
        names = [n for n in self.law_names if len(n) >= 2]
        alternation = rx.law_alternation(names)
        self.provision_re = rx.provision_regex(alternation)
        self.law_re = re.compile(r"(?:" + alternation + r")(?:\s" + rx.SFS_PARENS + r")?")

    def __call__(self, doc: Doc) -> Doc:
        cands = find_candidates(doc.text, self.law_names, self.provision_re, self.law_re)
        spans = []
        for c in cands:
            span = doc.char_span(c.start, c.end, label=c.label, alignment_mode="expand")
            if span is None or not span.text.strip():
                continue
            span._.norm = c.norm
            span._.data = dict(c.data, start_char=c.start, end_char=c.end)
            spans.append(span)
        doc.ents = _keep_longest(spans)
        return doc


class _CommonWords:
    """Membership in the lookup table without copying its 660k keys."""

    def __init__(self, table):
        self.table = table

    def __contains__(self, word: str) -> bool:
        return word in self.table


def _inside(ents, i: int) -> bool:
    return any(e.start <= i < e.end for e in ents)


def _in_table_cell(text: str, ent: Span) -> bool:
    """Table blocks are text rows with cells separated by ' | ' (see parse/layout.py)."""
    before = text[max(0, ent.start_char - 20):ent.start_char].rstrip(" ")
    after = text[ent.end_char:ent.end_char + 20].lstrip(" ")
    if ent.start_char <= 20 and not before:
        before = ""
    return (before == "" or before.endswith(("|", "\n"))) and (after == "" or after.startswith(("|", "\n")))


def _keep_longest(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, longest first (ties: earliest). Extension values are kept
    because filtered spans are the same objects."""
    ordered = sorted(spans, key=lambda s: (-(s.end_char - s.start_char), s.start_char))
    taken: list[Span] = []
    used = set()
    for s in ordered:
        if any(i in used for i in range(s.start, s.end)):
            continue
        taken.append(s)
        used.update(range(s.start, s.end))
    return sorted(taken, key=lambda s: s.start)


# --- gazetteer patterns ------------------------------------------------------------------------


def _genitive(word: str) -> str:
    return word if word.endswith(("s", "x", "z")) else word + "s"


def gazetteer_patterns(g: Gazetteer) -> list[dict]:
    """EntityRuler phrase patterns (matched on lower-case text) generated from the data
    files: every written form of every municipality, county, court and agency. The id is
    the canonical id; `textmine_resolve` turns it into Span._.norm."""
    pats: list[dict] = []

    def add(label: str, text: str, norm: str) -> None:
        if text:
            pats.append({"label": label, "pattern": text, "id": f"{label}|{norm}"})

    municipality_names = {m.name.lower() for m in g.municipalities.values()}
    for m in g.municipalities.values():
        gen = m.genitive
        for form in {m.name, _genitive(m.name)}:
            add("KOMMUN", form, m.code)
        for suffix in ("kommun", "kommuns", "stad", "stads"):
            add("KOMMUN", f"{gen} {suffix}", m.code)
            add("KOMMUN", f"{m.name} {suffix}", m.code)  # "Mark kommun", "Orust kommun" occur too
        add("KOMMUN", m.official, m.code)
        add("KOMMUN", _genitive(m.official), m.code)
    for c in g.counties.values():
        forms = {c.name, c.name + "s", *c.board_names, *c.region_names, *c.aliases, *(_genitive(a) for a in c.aliases)}
        forms |= {_genitive_first(b) for b in c.board_names} | {_genitive(b) for b in c.board_names}
        forms |= {_genitive(r) for r in c.region_names}
        # a bare county name ("Dalarna", "Skåne") unless it is also a municipality
        if c.short.lower() not in municipality_names:
            forms |= {c.short, _genitive(c.short)}
        for form in forms:
            if form.lower() in ("region gotland",):  # the municipality Gotland is a region itself
                continue
            add("LAN", form, c.code)
    # Abbreviations (HFD, AD, SKR, IVO) must match in capitals, so they are token
    # patterns; one pattern per label with all of them (the Matcher's cost grows with the
    # number of patterns), the canonical name is looked up in `abbreviations()`.
    abbrev = abbreviations(g)
    for court in g.courts.values():
        # both Swedish genitives: "Kammarrättens i Stockholm" and "Kammarrätten i Stockholms"
        for form in {court.name, _genitive_first(court.name), _genitive(court.name), *court.aliases}:
            if form not in abbrev:
                add("COURT", form, court.name)
    for a in g.agencies.values():
        for form in {a.name, _genitive(a.name), *a.aliases}:
            if form not in abbrev:
                add("AGENCY", form, a.name)
    for label in ("COURT", "AGENCY"):
        forms = sorted(f for f, (lab, _) in abbrev.items() if lab == label)
        if forms:
            pats.append({"label": label, "pattern": [{"TEXT": {"IN": forms}}], "id": f"{label}|@abbrev"})
    return pats


_ABBREVIATIONS: dict[int, dict] = {}


def abbreviations(g: Gazetteer) -> dict[str, tuple[str, str]]:
    """'HFD' and 'HFD:s' -> ('COURT', 'Högsta förvaltningsdomstolen')."""
    if id(g) in _ABBREVIATIONS:
        return _ABBREVIATIONS[id(g)]
    out = _ABBREVIATIONS[id(g)] = {}
    for court in g.courts.values():
        for form in (court.name, *court.aliases):
            if form.isupper() and len(form) <= 5:
                out[form] = out[form + ":s"] = ("COURT", court.name)
    for a in g.agencies.values():
        for form in (a.name, *a.aliases):
            if form.isupper() and len(form) <= 5:
                out[form] = out[form + ":s"] = ("AGENCY", a.name)
    return out


def _genitive_first(name: str) -> str:
    """'Kammarrätten i Stockholm' -> 'Kammarrättens i Stockholm'; 'Högsta
    förvaltningsdomstolen' -> 'Högsta förvaltningsdomstolens'."""
    words = name.split(" ")
    if len(words) >= 3 and words[1] in ("i", "för", "över"):
        return " ".join([_genitive(words[0])] + words[1:])
    return _genitive(name)


def data_patterns() -> list[dict]:
    """Hand-written patterns kept as data (target groups, organisations, generic courts,
    social committees) in data/patterns.jsonl, EntityRuler format."""
    path = DATA / "patterns.jsonl"
    out = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("//"):
                out.append(json.loads(line))
    return out


# --- resolution ------------------------------------------------------------------------------


@Language.factory("textmine_resolve")
def make_resolve(nlp: Language, name: str):
    return Resolve(load_gazetteer())


class Resolve:
    def __init__(self, gaz: Gazetteer):
        self.gaz = gaz
        from .lookups import lemma_table

        # common Swedish words (keys of the lemma table) that a proper name does not start with
        self.common_words = _CommonWords(lemma_table())
        self.municipalities_by_lower = {}
        for m in gaz.municipalities.values():
            self.municipalities_by_lower.setdefault(m.name.lower(), m)
        # "Socialnämnden i", "Individ- och familjenämnden i", "nämnden för arbete och välfärd i",
        # "Kommunstyrelsen i", "Socialförvaltningen i"
        self.committee_re = re.compile(
            r"(?<![\wåäöÅÄÖ])((?:[\wåäöÅÄÖ]+-?\s(?:och|&)\s)?[\wåäöÅÄÖ]*nämnden?s?(?:\sför\s[a-zåäö]+(?:\s(?:och|&)\s[a-zåäö]+)?)?"
            r"|[Kk]ommunstyrelsens?|[Ss]ocialförvaltningens?)\s+i\s+$",
        )
        self.first_names = set()
        names = DATA / "first_names.txt"
        if names.exists():
            lines = [l for l in names.read_text(encoding="utf-8").splitlines() if not l.startswith("#")]
            self.first_names = {w for l in lines for w in l.split()}

    def __call__(self, doc: Doc) -> Doc:
        # Doc.text and Token.is_sent_start rebuild from all tokens on every call: read once
        self.text = doc.text
        self.sent_starts = set(int(i) for i in (doc.to_array("SENT_START") == 1).nonzero()[0])
        self.ent_tokens = set()
        for e in doc.ents:
            self.ent_tokens.update(range(e.start, e.end))
        ents = []
        for ent in doc.ents:
            if ent._.norm is None and ent.ent_id_:
                norm = ent.ent_id_.split("|", 1)[1]
                if norm == "@abbrev":
                    norm = abbreviations(self.gaz).get(ent.text, (None, ent.text))[1]
                ent._.norm = norm or " ".join(ent.text.split())
            if ent.label_ == "KOMMUN" and not self._accept_municipality(doc, ent):
                continue
            if ent.label_ == "LAN" and len(ent) == 1 and ent.end < len(doc) and doc[ent.end].text[:1].isupper() \
                    and ent.end not in self.sent_starts and ent.end not in self.ent_tokens:
                continue  # "Skåne Nordost": part of a longer name
            if ent.label_ == "ORG":
                ent = self._trim_org(doc, ent)
                if ent is None:
                    continue
            ents.append(ent)
        ents = self._social_committees(doc, ents)
        ents = self._coordinated_counties(doc, ents)
        self._court_before_case_number(doc, ents)
        doc.ents = ents
        return doc

    def _accept_municipality(self, doc: Doc, ent: Span) -> bool:
        text = ent.text
        m = self.gaz.municipalities.get(ent._.norm)
        with_suffix = len(ent) > 1 and ent[-1].lower_ in ("kommun", "kommuns", "stad", "stads") or text.lower().startswith("region ")
        if with_suffix:
            return True
        # bare name: must be written as a name
        if not text[:1].isupper():
            return False
        prev = doc[ent.start - 1] if ent.start > 0 else None
        nxt = doc[ent.end] if ent.end < len(doc) else None
        if nxt is not None and nxt.lower_ in NOT_MUNICIPALITY_NEXT:
            return False
        caps = text.isupper()
        in_cell = _in_table_cell(self.text, ent)
        # "Anna Lund", "Nora Svensson": a capitalised neighbour that is not a place or a
        # sentence start makes the name part of a personal or longer proper name
        if prev is not None and not caps and not in_cell and prev.text[:1].isupper() and prev.i not in self.sent_starts \
                and prev.lower_ not in PREPOSITIONS and prev.i not in self.ent_tokens:
            return False
        if nxt is not None and not caps and not in_cell and nxt.text[:1].isupper() and nxt.i not in self.sent_starts \
                and nxt.lower_ not in PREPOSITIONS and nxt.i not in self.ent_tokens:
            return False
        # "Karl Lund", "Maria Mark": a first name before; "Nora Berg": a first name itself
        if prev is not None and prev.text in self.first_names and not caps:
            return False
        if text in self.first_names and nxt is not None and nxt.text[:1].isupper() and not caps:
            return False
        if m is not None and m.ambiguous and not in_cell:
            # "Vara", "Mark", "Mora": at a sentence start they are just words
            sentence_start = ent.start in self.sent_starts or prev is None or prev.is_punct and prev.text not in (",",)
            return not sentence_start
        return True

    def _coordinated_counties(self, doc: Doc, ents: list[Span]) -> list[Span]:
        """'Stockholms och Skåne län': the first genitive is a county too."""
        out = list(ents)
        for i, ent in enumerate(ents[:-1]):
            nxt = ents[i + 1]
            if ent.label_ != "KOMMUN" or nxt.label_ != "LAN" or not ent.text.endswith("s"):
                continue
            if not nxt.text.lower().endswith(("län", "läns")):
                continue
            if not re.fullmatch(r"\s*(?:och|,|samt|eller)\s*", self.text[ent.end_char:nxt.start_char]):
                continue
            stem = ent.text[:-1].lower()
            county = next((c for c in self.gaz.counties.values() if c.short.lower() == stem or c.name.lower().startswith(ent.text.lower() + " ")), None)
            if county is None:
                continue
            span = Span(doc, ent.start, ent.end, label="LAN")
            span._.norm = county.code
            out[out.index(ent)] = span
        return out

    def _trim_org(self, doc: Doc, ent: Span):
        """Organisations are named as written. A sentence-initial common noun before the
        name ("Hyresvärden Norrlandshem Fastigheter AB") is not part of it."""
        start = ent.start
        while ent[-1].text in ("AB", "HB", "KB") and start < ent.end - 2 and start in self.sent_starts and doc[start].lower_ in self.common_words:
            start += 1
        span = Span(doc, start, ent.end, label="ORG")
        text = " ".join(span.text.split())
        end_char = span.end_char
        if text.endswith(":s"):  # "Bergslagens Fastighets AB:s" -> the name without the genitive
            text, end_char = text[:-2], end_char - 2
        elif text.endswith(("missions", "Barnens", "Korsets")):
            text = text[:-1]
        span._.norm = text
        span._.data = {"start_char": span.start_char, "end_char": end_char}
        return span

    def _social_committees(self, doc: Doc, ents: list[Span]) -> list[Span]:
        """'Socialnämnden i Södertälje kommun' is one AGENCY span whose norm names the
        municipality in its official form."""
        out = list(ents)
        for ent in ents:
            if ent.label_ != "KOMMUN" or ent.start < 2:
                continue
            before = self.text[max(0, ent.start_char - 80):ent.start_char]
            m = self.committee_re.search(before)
            if not m or not re.search(r"nämnden?s?\b|styrelsens?\b|förvaltningens?\b", m.group(1), re.I):
                continue
            start_char = ent.start_char - (len(before) - m.start())
            span = doc.char_span(start_char, ent.end_char, label="AGENCY", alignment_mode="expand")
            if span is None or any(o is not ent and o.start < span.end and span.start < o.end for o in out):
                continue
            mun = self.gaz.municipalities.get(ent._.norm)
            body = m.group(1)
            body = body[0].upper() + body[1:]
            if body.endswith(("nämndens", "styrelsens", "förvaltningens")):
                body = body[:-1]  # the norm is the nominative
            # the municipality as written ("Helsingborgs kommun"), else its official name
            written = ent.text
            if written.endswith(("kommuns", "stads", "Stads")):
                written = written[:-1]
            if written.lower().endswith((" kommun", " stad")):
                norm = f"{body} i {written}"
            elif mun is not None and mun.official.lower().endswith(("kommun", "stad")):
                norm = f"{body} i {mun.official}"
            else:
                norm = f"{body} i {mun.genitive if mun else ent.text} kommun"
            span._.norm = norm
            out[out.index(ent)] = span
        return out

    def _court_before_case_number(self, doc: Doc, ents: list[Span]) -> None:
        """'Kammarrätten i Stockholm, mål 4155-18' and 'Kammarrättens i Stockholm dom den
        3 april 2019 i mål nr 8812-18': the case number's norm names the court."""
        last_court = None
        for ent in ents:
            if ent.label_ == "COURT":
                last_court = ent
            elif ent.label_ == "CASE_REF" and (ent._.data or {}).get("case_number") and last_court is not None:
                court = last_court._.norm
                gap = self.text[last_court.end_char:ent.start_char]
                same_sentence = not any(i in self.sent_starts for i in range(last_court.end, ent.start + 1))
                seat = court in self.gaz.courts and court[:1].isupper()  # a named court, not "kammarrätten"
                if same_sentence and seat and len(gap) <= 60 and not re.search(r"[;]|\b(och|samt|medan)\b", gap):
                    ent._.norm = f"{court} {ent._.norm}"
                last_court = None
            elif ent.label_ in ("CASE_REF",):
                last_court = None
