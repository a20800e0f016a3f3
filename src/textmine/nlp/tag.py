"""Tag the blocks of a Document with entities, in reading order, and derive the
document's facts (its municipalities, county, courts, laws and case references)."""

from __future__ import annotations

from collections import Counter

from ..models import Document, Entity
from .gazetteer import load_gazetteer
from .legalref import resolve_provision_laws
from .pipeline import load

# Headers and footers repeat on every page: tagging them would count the same mention
# once per page. Everything else is tagged.
TAGGED_KINDS = ("heading", "paragraph", "list_item", "quote", "table", "footnote")
MAX_BLOCK_CHARS = 200_000  # spaCy's own limit is 1M; longer blocks are tagged in slices


def tag_text(text: str) -> list[Entity]:
    """Entities of a free text (page 0, block 0): for tests, queries and quick looks."""
    entities = list(_entities_of_docs([(text, (0, 0))]))
    resolve_provision_laws(entities)
    return entities


def tag_document(document: Document, batch_size: int = 64) -> list[Entity]:
    """Set and return document.entities and document.facts."""
    items = []
    for page in document.pages:
        for i, block in enumerate(page.blocks):
            if block.kind in TAGGED_KINDS and block.text.strip():
                for offset, chunk in _slices(block.text):
                    items.append((chunk, (page.number, i, offset)))
    entities = list(_entities_of_docs(items, batch_size))
    resolve_provision_laws(entities)
    document.entities = entities
    document.facts = document_facts(document)
    return entities


def _slices(text: str):
    if len(text) <= MAX_BLOCK_CHARS:
        yield 0, text
        return
    start = 0
    while start < len(text):
        end = min(len(text), start + MAX_BLOCK_CHARS)
        if end < len(text):  # cut at a space so that no word is split
            space = text.rfind(" ", start + MAX_BLOCK_CHARS // 2, end)
            end = space if space > 0 else end
        yield start, text[start:end]
        start = end


def _entities_of_docs(items, batch_size: int = 64):
    nlp = load()
    for doc, ctx in nlp.pipe(items, as_tuples=True, batch_size=batch_size):
        page, block = ctx[0], ctx[1]
        offset = ctx[2] if len(ctx) > 2 else 0
        text = doc.text  # rebuilt from the tokens on every access: once per doc
        for ent in doc.ents:
            data = dict(ent._.data) if ent._.data else {}
            # pattern matches keep their exact character offsets (no token expansion)
            start = data.pop("start_char", ent.start_char)
            end = data.pop("end_char", ent.end_char)
            if ent.label_ in ("AGENCY", "COURT", "KOMMUN", "LAN", "TARGET_GROUP"):
                start, end = ent.start_char, ent.end_char
            yield Entity(
                label=ent.label_, text=text[start:end], norm=ent._.norm or ent.text,
                page=page, block=block, start=start + offset, end=end + offset, data=data or None,
            )


def document_facts(document: Document) -> dict:
    """What a coordinator filters by: the document's municipalities (SCB codes), its
    county (from the issuer or the municipalities), courts, laws and case references,
    most mentioned first."""
    gaz = load_gazetteer()
    ents = document.entities or []
    count = lambda label: Counter(e.norm for e in ents if e.label == label)  # noqa: E731
    municipalities = count("KOMMUN")
    counties = count("LAN")
    laws = count("LAW") + Counter(e.data.get("sfs") for e in ents if e.label == "PROVISION" and e.data and e.data.get("sfs"))
    courts = Counter({k: v for k, v in count("COURT").items() if k in gaz.courts and k[:1].isupper()})  # not generic "kammarrätt"
    county = _county_of_issuer(document, gaz) or _dominant_county(counties, municipalities, gaz)
    return {
        "municipalities": [{"code": c, "name": gaz.municipality_name(c), "mentions": n} for c, n in municipalities.most_common()],
        "county": {"code": county, "name": gaz.counties[county].name} if county in gaz.counties else None,
        "counties": [{"code": c, "name": gaz.counties[c].name if c in gaz.counties else c, "mentions": n} for c, n in counties.most_common()],
        "courts": [{"name": c, "mentions": n} for c, n in courts.most_common()],
        "laws": [{"sfs": s, "name": gaz.laws[s].name if s in gaz.laws else None, "mentions": n} for s, n in laws.most_common()],
        "provisions": [{"norm": p, "mentions": n} for p, n in count("PROVISION").most_common()],
        "case_refs": [{"norm": r, "mentions": n} for r, n in count("CASE_REF").most_common()],
        "target_groups": [{"norm": t, "mentions": n} for t, n in count("TARGET_GROUP").most_common()],
    }


def _dominant_county(counties: Counter, municipalities: Counter, gaz) -> str | None:
    """The county that at least half of the place mentions point to, if any: a national
    report that mentions many counties belongs to none."""
    weight = Counter(counties)
    for code, n in municipalities.items():
        c = gaz.county_of(code)
        if c:
            weight[c] += n
    total = sum(weight.values())
    if not total:
        return None
    code, n = weight.most_common(1)[0]
    return code if n / total >= 0.5 else None


def _county_of_issuer(document: Document, gaz) -> str | None:
    """A county board's or a municipality's document belongs to its county."""
    issuer = (document.issuer or "").lower()
    if not issuer:
        return None
    for c in gaz.counties.values():
        names = [c.name.lower(), c.short.lower(), *(b.lower() for b in c.board_names), *(r.lower() for r in c.region_names)]
        if issuer.startswith("länsstyrelsen") and any(n in issuer for n in names):
            return c.code
    for m in gaz.municipalities.values():
        if issuer in (m.official.lower(), f"{m.genitive.lower()} kommun", f"{m.name.lower()} kommun"):
            return m.county_code
    return None
