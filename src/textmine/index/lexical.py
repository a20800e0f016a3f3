"""Swedish text -> search terms for BM25 (SQLite FTS5): lower case, Snowball Swedish
stems, and the parts of compounds, so that "stöd" finds "försörjningsstöd" and
"bostadsbrist" finds "brist på bostäder".

Compounds are split with the word list of spacy-lookups-data (660k Swedish word forms):
a long word is split where both halves are known words (allowing the linking -s- of
"försörjnings|stöd"); the stems of the parts are indexed next to the stem of the whole
word. Query terms are quoted for FTS5, so no user input can break the query syntax."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

WORD_RE = re.compile(r"[0-9a-zåäöéüæøA-ZÅÄÖÉÜÆØ]+(?:[:/-][0-9a-zåäöA-ZÅÄÖ]+)*")
MIN_PART = 4
_stemmer = snowballstemmer.stemmer("swedish")
_stemmer_lock = threading.Lock()  # the stemmer keeps its word in itself: one thread at a time


def vocabulary():
    from ..nlp.lookups import lemma_table

    return lemma_table()


@lru_cache(maxsize=1)
def stop_words() -> frozenset:
    from spacy.lang.sv.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    with _stemmer_lock:
        return _stemmer.stemWord(word)


@lru_cache(maxsize=200_000)
def compound_parts(word: str) -> tuple[str, ...]:
    """'försörjningsstöd' -> ('försörjning', 'stöd'); () when the word is not a compound
    of two known words."""
    if len(word) < 2 * MIN_PART + 1 or not word.isalpha():
        return ()
    vocab = vocabulary()
    best: tuple[str, ...] = ()
    for i in range(len(word) - MIN_PART, MIN_PART - 1, -1):  # longest head first
        head, tail = word[:i], word[i:]
        if tail not in vocab:
            continue
        if head in vocab:
            return (head, tail)
        if head.endswith("s") and head[:-1] in vocab and len(head) - 1 >= MIN_PART:
            best = best or (head[:-1], tail)
    return best


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD_RE.findall(text)]


def index_terms(text: str) -> str:
    """The terms stored in FTS5 for a passage: stems, plus stems of compound parts."""
    out = []
    for m in WORD_RE.finditer(text):
        raw = m.group(0)
        w = raw.lower()
        out.append(stem(w))
        if not raw[:1].isupper():  # proper names are not compounds to split ("Hällefors")
            for part in compound_parts(w):
                out.append(stem(part))
    return " ".join(out)


def query_terms(query: str) -> list[str]:
    """Distinct stems of the query's content words (and their compound parts)."""
    terms: list[str] = []
    stops = stop_words()
    for w in words(query):
        if w in stops and len(words(query)) > 1:
            continue
        for t in (stem(w), *(stem(p) for p in compound_parts(w))):
            if t and t not in terms:
                terms.append(t)
    return terms[:64]


def fts_query(terms: list[str]) -> str | None:
    """An FTS5 MATCH expression: every term quoted (quotes doubled), joined by OR."""
    if not terms:
        return None
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def highlight_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    """Character spans of the words in `text` whose stem (or a compound part's stem) is a
    query term: what a result page marks."""
    wanted = set(terms)
    if not wanted:
        return []
    return [(m.start(), m.end()) for m in WORD_RE.finditer(text) if not wanted.isdisjoint(word_stems(m.group(0).lower()))]


@lru_cache(maxsize=200_000)
def word_stems(word: str) -> frozenset:
    """The stem of a word and of its compound parts: what a query term may match."""
    return frozenset((stem(word), *(stem(p) for p in compound_parts(word))))


# In a large collection a term found in more than this share of passages says little
# (its BM25 weight is near zero) but costs the most: FTS5 scores every passage that holds
# it. benchmarks/latency.py measured p95 1.4 s -> 0.18 s at 1M passages with the cap.
COMMON_TERM_SHARE = 0.05
PRUNE_FROM = 50_000  # passages; below this every term is kept (it is fast anyway)


def prune_common_terms(terms: list[str], doc_freq: dict[str, int], n_passages: int) -> list[str]:
    """Drop very common terms from a keyword query over a large collection, keeping at
    least the two rarest terms."""
    if n_passages < PRUNE_FROM or len(terms) <= 2:
        return terms
    keep = [t for t in terms if doc_freq.get(t, 0) <= COMMON_TERM_SHARE * n_passages]
    if len(keep) >= 2:
        return keep
    return sorted(terms, key=lambda t: doc_freq.get(t, 0))[:2]
