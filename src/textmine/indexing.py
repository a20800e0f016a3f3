"""index: stored documents -> passages (with facets and keyword terms) -> embeddings ->
the FAISS index, kept in step with the store. Runs after ingest, after `remove`, and on
`textmine reindex`. Embeddings are cached by passage content hash, so re-chunking or
re-ingesting unchanged text does not embed it again."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .index import lexical
from .index.vectors import VectorIndex
from .nlp.gazetteer import load_gazetteer
from .quotes import update_quotes
from .passages import build_passages
from .store import Store

FACET_LABELS = ("KOMMUN", "LAN", "COURT", "AGENCY", "LAW", "PROVISION", "CASE_REF", "TARGET_GROUP", "ORG")


def passage_facets(doc, passages) -> dict[str, list[tuple[str, str]]]:
    """(label, norm) of the entities inside each passage; a municipality also counts for
    its county, a provision for its law, so that filters by county or law find them."""
    gaz = load_gazetteer()
    by_block: dict[tuple[int, int], list] = {}
    for e in doc.entities or []:
        by_block.setdefault((e.page, e.block), []).append(e)
    out: dict[str, list[tuple[str, str]]] = {}
    for p in passages:
        facets: set[tuple[str, str]] = set()
        for s in p.spans:
            for e in by_block.get((s.page, s.block), []):
                if e.label not in FACET_LABELS or e.end <= s.start or e.start >= s.end:
                    continue
                facets.add((e.label, e.norm))
                if e.label == "KOMMUN":
                    county = gaz.county_of(e.norm)
                    if county:
                        facets.add(("LAN", county))
                if e.label == "PROVISION" and e.data and e.data.get("sfs"):
                    facets.add(("LAW", e.data["sfs"]))
        out[p.passage_id] = sorted(facets)
    return out


def chunk_documents(store: Store, doc_ids: list[int]) -> int:
    """Build and store passages of the given documents; returns the number of passages."""
    total = 0
    for doc_id in doc_ids:
        doc = store.get_document(doc_id)
        passages = build_passages(doc)
        facets = passage_facets(doc, passages)
        terms = {p.passage_id: lexical.index_terms(p.context_text()) for p in passages}
        store.replace_passages(doc_id, passages, facets, terms)
        update_quotes(store, [doc_id])  # quote passages get their attribution
        total += len(passages)
    return total


def embed_missing(store: Store, embedder, *, quiet: bool = False, batch: int = 64) -> dict:
    """Embed every passage text that has no vector for this model yet."""
    missing = store.missing_embeddings(embedder.model_name)
    started = time.monotonic()
    done = 0
    for i in range(0, len(missing), batch):
        chunk = missing[i:i + batch]
        rows = store.passages_by_rowid([rowid for _, rowid in chunk])
        texts = [context_of(rows[rowid]) for _, rowid in chunk]
        vectors = embedder.embed_passages(texts)
        store.put_embeddings(embedder.model_name, [(h, v.astype(np.float32).tobytes()) for (h, _), v in zip(chunk, vectors)])
        done += len(chunk)
        if not quiet:
            elapsed = max(time.monotonic() - started, 1e-6)
            rate = done / elapsed
            eta = (len(missing) - done) / rate if rate else 0
            print(f"embedding: {done}/{len(missing)} passages ({rate:.1f} passages/s, ETA {int(eta // 60)}:{int(eta % 60):02d})",
                  file=sys.stderr, flush=True)
    seconds = time.monotonic() - started
    return {"embedded": done, "seconds": round(seconds, 2), "passages_per_second": round(done / seconds, 1) if done and seconds else None}


def context_of(row: dict) -> str:
    """The same text as Passage.context_text(), rebuilt from a stored row."""
    import json

    path = json.loads(row["heading_path"] or "[]")
    head = " > ".join(path[-2:])
    parts = [head, row["text"]] if head else [row["text"]]
    if row["footnotes"]:
        parts.append(" ".join(json.loads(row["footnotes"])))
    return "\n".join(parts)


def vectors_for(store: Store, model: str, dimension: int):
    def get(ids: np.ndarray) -> np.ndarray:
        rows = store.passages_by_rowid([int(i) for i in ids])
        hashes = [rows[int(i)]["content_hash"] for i in ids]
        blobs = store.get_embeddings(model, list(set(hashes)))
        return np.stack([np.frombuffer(blobs[h], dtype=np.float32) for h in hashes]) if len(ids) else np.zeros((0, dimension), np.float32)

    return get


def sync_vectors(store: Store, embedder) -> dict:
    index = VectorIndex.open(store.home, embedder.model_name, embedder.dimension)
    wanted = np.array([rowid for rowid, _ in store.all_passage_vectors_keys(embedder.model_name)], dtype=np.int64)
    result = index.sync(wanted, vectors_for(store, embedder.model_name, embedder.dimension))
    index.save()
    return result


def update_indexes(store: Store, embedder=None, *, quiet: bool = False, rechunk: bool = False) -> dict:
    """Bring passages, embeddings and the vector index in step with the stored documents."""
    started = time.monotonic()
    if rechunk:
        doc_ids = [d["id"] for d in store.list_documents()]
    else:
        doc_ids = store.documents_needing_passages()
    n_passages = chunk_documents(store, doc_ids)
    from .rulings import update_cards

    update_cards(store)
    update_quotes(store)  # stores from before quotes were attributed
    if embedder is None:
        from .embed import Embedder

        embedder = Embedder()
    embedded = embed_missing(store, embedder, quiet=quiet)
    synced = sync_vectors(store, embedder)
    from .labels import update_labels

    labelled = update_labels(store, embedder)  # case / good practice / proposal / quote scores
    from .practice import build_catalogue

    catalogue = build_catalogue(store)  # good-example candidates from the good_practice passages
    return {
        "documents_chunked": len(doc_ids), "passages_built": n_passages, **embedded,
        "index": synced, "labels": labelled.get("labelled"), "examples": catalogue, "model": embedder.model_name, "seconds": round(time.monotonic() - started, 2),
    }


def vector_index(store: Store, embedder) -> VectorIndex:
    return VectorIndex.open(Path(store.home), embedder.model_name, embedder.dimension)
