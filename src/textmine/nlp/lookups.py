"""The Swedish lookup table of spacy-lookups-data (word form -> lemma, 660k forms), loaded
once per process: the lemmatiser, the tagger's common-word test and the compound
splitter of the keyword index all use it."""

from functools import lru_cache


@lru_cache(maxsize=1)
def lemma_table():
    from spacy.lookups import load_lookups

    return load_lookups("sv", ["lemma_lookup"]).get_table("lemma_lookup")
