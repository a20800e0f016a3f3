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
        from spacy.lookups import load_lookups

        self.table = load_lookups("sv", ["lemma_lookup"]).get_table("lemma_lookup")
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
        self.law_re = re.compile(r"(?:" + alternation + r")(?:\s\(\d{4}:\d{1,4}\))?")

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
        add("KOMMUN", m.official, m.code)
        add("KOMMUN", _genitive(m.official), m.code)
    for c in g.counties.values():
        forms = {c.name, c.name + "s", *c.board_names, *(_genitive_first(b) for b in c.board_names), *c.region_names}
        forms |= {_genitive(r) for r in c.region_names}
        # a bare county name ("Dalarna", "Skåne") unless it is also a municipality
        if c.short.lower() not in municipality_names:
            forms |= {c.short, _genitive(c.short)}
        for form in forms:
            if form.lower() in ("region gotland",):  # the municipality Gotland is a region itself
                continue
            add("LAN", form, c.code)
    for court in g.courts.values():
        for form in {court.name, _genitive_first(court.name), *court.aliases}:
            if form.isupper() and len(form) <= 5:
                # abbreviations (HFD, AD, HD) must match in capitals: token pattern
                pats.append({"label": "COURT", "pattern": [{"TEXT": form}], "id": f"COURT|{court.name}"})
            else:
                add("COURT", form, court.name)
    for a in g.agencies.values():
        for form in {a.name, _genitive(a.name), *a.aliases}:
            if form.isupper() and len(form) <= 5:
                pats.append({"label": "AGENCY", "pattern": [{"TEXT": form}], "id": f"AGENCY|{a.name}"})
            else:
                add("AGENCY", form, a.name)
    return pats


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
        self.municipalities_by_lower = {}
        for m in gaz.municipalities.values():
            self.municipalities_by_lower.setdefault(m.name.lower(), m)
        self.committee_re = re.compile(
            r"\b((?:[A-ZÅÄÖ][a-zåäö]+-\s och\s)?(?:[Ss]ocialnämnden|[Ss]ocialnämndens|[A-ZÅÄÖ][a-zåäö]+(?:-|\s)och\s[a-zåäö]*nämnden|"
            r"[A-ZÅÄÖ][a-zåäö]+nämnden|[A-ZÅÄÖ][a-zåäö]+nämndens|[Kk]ommunstyrelsen|[Ss]ocialförvaltningen))\s+i\s+",
        )

    def __call__(self, doc: Doc) -> Doc:
        ents = []
        for ent in doc.ents:
            if ent._.norm is None and ent.ent_id_:
                ent._.norm = ent.ent_id_.split("|", 1)[1] or " ".join(ent.text.split())
            if ent.label_ == "KOMMUN" and not self._accept_municipality(doc, ent):
                continue
            ents.append(ent)
        ents = self._social_committees(doc, ents)
        self._court_before_case_number(doc, ents)
        doc.ents = ents
        return doc

    def _accept_municipality(self, doc: Doc, ent: Span) -> bool:
        text = ent.text
        m = self.gaz.municipalities.get(ent._.norm)
        with_suffix = len(ent) > 1 and ent[-1].lower_ in ("kommun", "kommuns", "stad", "stads") or ent.text.lower().startswith("region ")
        if with_suffix:
            return True
        # bare name: must be written as a name
        if not text[:1].isupper():
            return False
        prev = doc[ent.start - 1] if ent.start > 0 else None
        nxt = doc[ent.end] if ent.end < len(doc) else None
        if nxt is not None and nxt.lower_ in NOT_MUNICIPALITY_NEXT:
            return False
        sentence_start = prev is None or prev.is_sent_start is None and prev.is_punct or ent[0].is_sent_start or prev.text in ("•", "-", "–", "|", "(")
        # "Anna Lund", "Per Mora": a capitalised word before it that is not a sentence start
        if prev is not None and prev.text[:1].isupper() and not prev.is_sent_start and prev.lower_ not in PREPOSITIONS and not text.isupper():
            prev_is_place = any(e.start <= prev.i < e.end for e in doc.ents if e.label_ in ("KOMMUN", "LAN"))
            if not prev_is_place:
                return False
        # "Stockholm Stad..." handled by patterns; other capitalised followers make a longer name
        if nxt is not None and nxt.text[:1].isupper() and not nxt.is_sent_start and nxt.lower_ not in PREPOSITIONS and not text.isupper():
            if not any(e.start <= nxt.i < e.end for e in doc.ents):
                return False
        if m is not None and m.ambiguous:
            # common words and first names count only after a preposition of place
            return prev is not None and prev.lower_ in {"i", "från", "till", "mellan", "inom", "kommunen"} and not sentence_start
        return True

    def _social_committees(self, doc: Doc, ents: list[Span]) -> list[Span]:
        """'Socialnämnden i Södertälje kommun' is one AGENCY span whose norm names the
        municipality in its official form."""
        out = list(ents)
        for ent in ents:
            if ent.label_ != "KOMMUN" or ent.start < 2:
                continue
            before = doc.text[max(0, ent.start_char - 80):ent.start_char]
            m = self.committee_re.search(before)
            if not m or m.end() != len(before):
                continue
            start_char = ent.start_char - (len(before) - m.start())
            span = doc.char_span(start_char, ent.end_char, label="AGENCY", alignment_mode="expand")
            if span is None or any(o is not ent and o.start < span.end and span.start < o.end for o in out):
                continue
            mun = self.gaz.municipalities.get(ent._.norm)
            body = m.group(1)
            body = body[0].upper() + body[1:]
            if body.endswith("s") and body.lower().startswith(("socialnämndens", "kommunstyrelsens")):
                body = body[:-1]
            official = mun.official if mun else ent.text
            if official.lower().endswith(("kommun", "stad")) and not official.lower().startswith("region"):
                norm = f"{body} i {official}"
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
                gap = doc.text[last_court.end_char:ent.start_char]
                same_sentence = not any(doc[i].is_sent_start for i in range(last_court.end, ent.start + 1))
                seat = court in self.gaz.courts and " i " in court or court in self.gaz.courts and court.startswith(("Högsta", "Regeringsrätten", "Hovrätten", "Svea", "Göta"))
                if same_sentence and seat and len(gap) <= 60 and not re.search(r"[;]|\b(och|samt|medan)\b", gap):
                    ent._.norm = f"{court} {ent._.norm}"
                last_court = None
            elif ent.label_ in ("CASE_REF",):
                last_court = None
