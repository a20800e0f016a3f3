"""The Swedish lookup table of spacy-lookups-data (word form -> lemma, 660k forms), loaded
once per process: the lemmatiser, the tagger's common-word test and the compound
splitter of the keyword index all use it.

Loading takes seconds; the lock makes threads that ask at the same time (the web
server's first requests) wait for one load instead of each loading its own copy."""

import threading
from functools import lru_cache

_LOCK = threading.Lock()


def lemma_table():
    with _LOCK:
        return _load()


@lru_cache(maxsize=1)
def _load():
    from spacy.lookups import load_lookups

    return load_lookups("sv", ["lemma_lookup"]).get_table("lemma_lookup")
