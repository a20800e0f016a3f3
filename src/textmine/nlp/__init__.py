"""nlp: Swedish entity tagging (spaCy) for the domain: municipalities, counties, courts,
agencies, laws and provisions, case references, target groups, dates, money, percentages,
diarienummer, personnummer and organisations. See ENTITIES.md for labels and norms.

Entry points: `load()` (the spaCy pipeline) and `tag_document(document)`."""

from .pipeline import load
from .tag import document_facts, tag_document, tag_text

__all__ = ["load", "tag_document", "tag_text", "document_facts"]
