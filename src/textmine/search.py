"""search: a Swedish question -> ranked passages with document, page, highlights,
entities and facet counts. Keyword (BM25 over FTS5), semantic (FAISS over e5
embeddings) or hybrid (reciprocal-rank fusion of the two, the default).

Filters narrow the candidates before ranking (SQL on the store; for semantic search an
exact scan of the filtered passages' vectors when they are few). The final list is
diversified: at most MAX_PER_DOC passages of one document in a page of results, and no
near-duplicate passages."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np

from .errors import TextmineError
from .index import lexical
from .nlp.gazetteer import load_gazetteer
from .store import Store

MODES = ("hybrid", "semantic", "keyword")
RRF_K = 60
CANDIDATES = 200
MAX_PER_DOC = 3
DUPLICATE_COSINE = 0.97
EXACT_SCAN_LIMIT = 50_000
MAX_QUERY_CHARS = 2000
# entities offered as a facet besides the place and court facets
ENTITY_FACET_LABELS = ("PROVISION", "LAW", "TARGET_GROUP", "AGENCY", "CASE_REF")


class QueryError(TextmineError):
    """A query or filter that cannot be run; the message says why."""


@dataclass
class Filters:
    doc_type: str | None = None
    county: str | None = None
    municipality: str | None = None
    court: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    entity: str | None = None
    label: str | None = None  # a passage label (labels.LABELS)

    def sql(self) -> tuple[str, tuple]:
        gaz = load_gazetteer()
        where, args = [], []
        if self.doc_type:
            where.append("d.doc_type = ?")
            args.append(self.doc_type)
        if self.county:
            code = resolve_county(self.county, gaz)
            where.append("(d.county = ? OR EXISTS (SELECT 1 FROM passage_facets f WHERE f.passage = p.id AND f.label = 'LAN' AND f.norm = ?))")
            args += [code, code]
        if self.municipality:
            code = resolve_municipality(self.municipality, gaz)
            where.append("EXISTS (SELECT 1 FROM passage_facets f WHERE f.passage = p.id AND f.label = 'KOMMUN' AND f.norm = ?)")
            args.append(code)
        if self.court:
            where.append("EXISTS (SELECT 1 FROM passage_facets f WHERE f.passage = p.id AND f.label = 'COURT' AND lower(f.norm) LIKE ?)")
            args.append("%" + self.court.lower().replace("%", "").replace("_", "") + "%")
        if self.year_from:
            where.append("CAST(substr(d.date, 1, 4) AS INTEGER) >= ?")
            args.append(int(self.year_from))
        if self.year_to:
            where.append("CAST(substr(d.date, 1, 4) AS INTEGER) <= ?")
            args.append(int(self.year_to))
        if self.entity:
            where.append("EXISTS (SELECT 1 FROM passage_facets f WHERE f.passage = p.id AND f.norm = ?)")
            args.append(self.entity)
        if self.label:
            from .labels import check_label

            where.append("EXISTS (SELECT 1 FROM passage_labels l WHERE l.passage_id = p.passage_id AND l.label = ? AND l.assigned = 1)")
            args.append(check_label(self.label))
        return " AND ".join(where), tuple(args)

    def active(self) -> bool:
        return any(v is not None and v != "" for v in self.__dict__.values())


def resolve_municipality(value: str, gaz) -> str:
    v = value.strip()
    if v.isdigit() and v.zfill(4) in gaz.municipalities:
        return v.zfill(4)
    low = v.lower().removesuffix(" kommun").removesuffix(" stad")
    for m in gaz.municipalities.values():
        if low in (m.name.lower(), m.genitive.lower(), m.official.lower()):
            return m.code
    raise QueryError(f"unknown municipality '{value}': give a name (Hällefors) or an SCB code (1863)")


def resolve_county(value: str, gaz) -> str:
    v = value.strip()
    if v.isdigit() and v.zfill(2) in gaz.counties:
        return v.zfill(2)
    low = v.lower().removesuffix(" län").removesuffix("s")
    for c in gaz.counties.values():
        names = [c.name.lower(), c.short.lower(), c.name.lower().removesuffix(" län").removesuffix("s")]
        if low in names or v.lower() in names:
            return c.code
    raise QueryError(f"unknown county '{value}': give a name (Örebro län, Dalarna) or a county code (18)")


@dataclass
class Hit:
    passage_id: str
    doc_id: int
    path: str
    title: str | None
    doc_type: str
    date: str | None
    issuer: str | None
    page: int
    page_end: int
    score: float
    text: str
    heading_path: list[str]
    kind: str
    highlights: list[list[int]]
    entities: list[dict]
    ranks: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class SearchResult:
    query: str
    mode: str
    hits: list[Hit]
    facets: dict
    candidates: int
    took_ms: float

    def to_json(self) -> dict:
        return {
            "query": self.query, "mode": self.mode, "took_ms": round(self.took_ms, 1), "candidates": self.candidates,
            "hits": [h.to_json() for h in self.hits], "facets": self.facets,
        }


class Searcher:
    """Holds the store, the embedder and the vector index for many queries."""

    def __init__(self, store: Store, embedder=None, index=None):
        # embedder and index may be shared between Searchers (the web server keeps one
        # Searcher per thread, because a SQLite connection belongs to its thread)
        self.store = store
        self._embedder = embedder
        self._index = index

    @property
    def embedder(self):
        if self._embedder is None:
            from .embed import Embedder

            self._embedder = Embedder()
        return self._embedder

    @property
    def index(self):
        if self._index is None:
            from .index.vectors import VectorIndex

            self._index = VectorIndex.open(self.store.home, self.embedder.model_name, self.embedder.dimension)
        return self._index

    # --- the two retrievers -------------------------------------------------------------

    def keyword(self, query: str, filters: Filters, limit: int = CANDIDATES) -> list[tuple[int, float]]:
        terms = lexical.query_terms(query)
        n = self.store.passage_count()
        if n >= lexical.PRUNE_FROM:
            terms = lexical.prune_common_terms(terms, self.store.term_document_frequencies(terms), n)
        match = lexical.fts_query(terms)
        if not match:
            return []
        where, args = filters.sql()
        return self.store.keyword_search(match, limit, where, args)

    def semantic(self, query: str, filters: Filters, limit: int = CANDIDATES) -> list[tuple[int, float]]:
        qv = self.embedder.embed_queries([query])[0]
        return self.semantic_by_vector(qv, filters, limit)

    def semantic_by_vector(self, qv: np.ndarray, filters: Filters, limit: int = CANDIDATES) -> list[tuple[int, float]]:
        if filters.active():
            where, args = filters.sql()
            ids = self.store.filtered_passage_ids(where, args)
            if len(ids) <= EXACT_SCAN_LIMIT:
                if not ids:
                    return []
                vectors = self._vectors(ids)
                scores = vectors @ qv
                order = np.argsort(-scores)[:limit]
                return [(ids[i], float(scores[i])) for i in order]
            allowed = set(ids)
            return [(i, s) for i, s in self.index.search(qv, limit * 20) if i in allowed][:limit]
        return self.index.search(qv, limit)

    def _vectors(self, ids: list[int]) -> np.ndarray:
        vecs = self.index.vectors(ids)
        if vecs is not None:
            return vecs
        from .indexing import vectors_for  # the index lags the store: read the cache

        return vectors_for(self.store, self.embedder.model_name, self.embedder.dimension)(np.array(ids, dtype=np.int64))

    # --- search ----------------------------------------------------------------------------

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid", filters: Filters | None = None, offset: int = 0) -> SearchResult:
        started = time.perf_counter()
        filters = filters or Filters()
        query = clean_query(query)
        if mode not in MODES:
            raise QueryError(f"unknown mode '{mode}': use hybrid, semantic or keyword")
        if not 1 <= k <= 1000:
            raise QueryError("k must be between 1 and 1000")
        ranked: dict[str, list[tuple[int, float]]] = {}
        if query and mode == "hybrid" and not filters.active():
            # embedding + FAISS release the GIL and touch no SQLite: run them beside the
            # keyword query, so a hybrid query waits for the slower of the two, not both
            index, embedder = self.index, self.embedder  # load in this thread before handing over
            future = _pool().submit(lambda: index.search(embedder.embed_queries([query])[0], CANDIDATES))
            ranked["keyword"] = self.keyword(query, filters)
            ranked["semantic"] = future.result()
        else:
            if query and mode in ("hybrid", "keyword"):
                ranked["keyword"] = self.keyword(query, filters)
            if query and mode in ("hybrid", "semantic"):
                ranked["semantic"] = self.semantic(query, filters)
        if not query:
            ranked["browse"] = [(i, 0.0) for i in self.store.filtered_passage_ids(*filters.sql())[:CANDIDATES]]
        fused = fuse(ranked)
        ids = [i for i, _ in fused]
        chosen = self._diversify(fused, offset + k)[offset:offset + k]
        page_ids = [i for i, _ in chosen]
        full = self.store.passages_by_rowid(page_ids)  # text only for the page shown
        facets_by_passage = self.store.passage_facets(page_ids)
        terms = lexical.query_terms(query) if query else []
        ranks = {name: {i: r + 1 for r, (i, _) in enumerate(lst)} for name, lst in ranked.items()}
        hits = [
            self._hit(full[i], score, terms, facets_by_passage.get(i, []), {n: ranks[n].get(i) for n in ranks})
            for i, score in chosen
        ]
        return SearchResult(
            query=query, mode=mode, hits=hits, facets=facet_counts(self.store, ids),
            candidates=len(fused), took_ms=(time.perf_counter() - started) * 1000,
        )

    def similar(self, passage_id: str, k: int = 10) -> SearchResult:
        started = time.perf_counter()
        row = self.store.passage_by_id(passage_id)
        blob = self.store.get_embeddings(self.embedder.model_name, [row["content_hash"]]).get(row["content_hash"])
        if blob is None:
            raise QueryError(f"passage {passage_id} has no embedding yet: run `textmine reindex`")
        qv = np.frombuffer(blob, dtype=np.float32)
        found = [(i, s) for i, s in self.semantic_by_vector(qv, Filters(), CANDIDATES) if i != row["id"]]
        rows = self.store.candidate_rows([i for i, _ in found])
        found = [(i, s) for i, s in found if i in rows and rows[i]["doc_id"] != row["doc_id"]]  # from other documents
        chosen = self._diversify(found, k)[:k]
        full = self.store.passages_by_rowid([i for i, _ in chosen])
        facets = self.store.passage_facets([i for i, _ in chosen])
        hits = [self._hit(full[i], s, [], facets.get(i, []), {"semantic": r + 1}) for r, (i, s) in enumerate(chosen)]
        return SearchResult(query=f"similar:{passage_id}", mode="semantic", hits=hits,
                            facets=facet_counts(self.store, [i for i, _ in found]), candidates=len(found),
                            took_ms=(time.perf_counter() - started) * 1000)

    def _diversify(self, fused: list[tuple[int, float]], want: int) -> list[tuple[int, float]]:
        """Keep the ranking, but at most MAX_PER_DOC passages per document in each page
        of `want`, and no passage nearly identical to one already chosen. Candidates are
        read from the store in chunks, as far down the ranking as needed."""
        chosen: list[tuple[int, float]] = []
        chosen_vectors: list[np.ndarray] = []
        per_doc: dict[int, int] = {}
        seen_hashes: set[str] = set()
        deferred = []
        step = max(want * 4, 40)
        for start in range(0, len(fused), step):
            part = fused[start:start + step]
            rows = self.store.candidate_rows([i for i, _ in part])
            vectors = self._vectors_by_id([i for i, _ in part if i in rows], rows)
            for i, score in part:
                row = rows.get(i)
                if row is None or row["content_hash"] in seen_hashes:
                    continue
                v = vectors.get(i)
                if v is not None and chosen_vectors and float(np.max(np.stack(chosen_vectors) @ v)) > DUPLICATE_COSINE:
                    continue
                if per_doc.get(row["doc_id"], 0) >= MAX_PER_DOC:
                    deferred.append((i, score))
                    continue
                chosen.append((i, score))
                if v is not None:
                    chosen_vectors.append(v)
                seen_hashes.add(row["content_hash"])
                per_doc[row["doc_id"]] = per_doc.get(row["doc_id"], 0) + 1
                if len(chosen) >= want:
                    return chosen
        # fewer distinct documents than a page: fill up with the held-back passages
        for item in deferred:
            if len(chosen) >= want:
                break
            chosen.append(item)
        return chosen

    def _vectors_by_id(self, ids: list[int], rows: dict) -> dict[int, np.ndarray]:
        """Vectors of candidates: from the in-memory index, else from the store's cache."""
        if not ids:
            return {}
        vecs = self.index.vectors(ids)
        if vecs is not None:
            return dict(zip(ids, vecs))
        blobs = self.store.get_embeddings(self.embedder.model_name, list({rows[i]["content_hash"] for i in ids}))
        return {i: np.frombuffer(blobs[rows[i]["content_hash"]], dtype=np.float32) for i in ids if rows[i]["content_hash"] in blobs}

    def _hit(self, row: dict, score: float, terms: list[str], facets: list[tuple[str, str]], ranks: dict) -> Hit:
        gaz = load_gazetteer()
        ents = []
        for label, norm in facets:
            name = gaz.display_name(label, norm)
            ents.append({"label": label, "norm": norm, **({"name": name} if name else {})})
        return Hit(
            passage_id=row["passage_id"], doc_id=row["doc_id"], path=row["path"], title=row["title"], doc_type=row["doc_type"],
            date=row["date"], issuer=row["issuer"], page=row["page_start"], page_end=row["page_end"], score=round(score, 6),
            text=row["text"], heading_path=json.loads(row["heading_path"] or "[]"), kind=row["kind"],
            highlights=[list(s) for s in lexical.highlight_spans(row["text"], terms)], entities=ents, ranks=ranks,
        )


_POOL = None


def _pool():
    """Threads for the semantic half of hybrid queries, shared by all searches."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="semantic")
    return _POOL


def clean_query(query: str) -> str:
    """Queries are text: control characters and NULs go, length is capped."""
    if query is None:
        return ""
    query = "".join(ch if ch.isprintable() or ch in " \t" else " " for ch in query)
    return " ".join(query.split())[:MAX_QUERY_CHARS]


def fuse(ranked: dict[str, list[tuple[int, float]]]) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: score = sum over rankings of 1 / (RRF_K + rank). With one
    ranking the order is kept and its own scores are returned."""
    lists = [lst for lst in ranked.values() if lst]
    if len(lists) <= 1:
        return list(lists[0]) if lists else []
    scores: dict[int, float] = {}
    for lst in lists:
        for rank, (i, _) in enumerate(lst, 1):
            scores[i] = scores.get(i, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores.items(), key=lambda x: -x[1])


def facet_counts(store: Store, ids: list[int]) -> dict:
    """Counts over all candidates: type, county, municipality, court, year, entity;
    with names where the value is a code."""
    gaz = load_gazetteer()
    tallies = store.facet_tallies(ids, ENTITY_FACET_LABELS)
    labels = tallies.pop("labels")

    def named(kind: str, key: str) -> dict:
        if kind == "county" and key in gaz.counties:
            return {"name": gaz.counties[key].name}
        if kind == "municipality" and key in gaz.municipalities:
            return {"name": gaz.municipalities[key].name}
        if kind == "entity":
            name = gaz.display_name(labels[key], key)
            return {"label": labels[key], **({"name": name} if name else {})}
        return {}

    return {
        kind: [{"value": k, "count": v, **named(kind, k)} for k, v in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]
        for kind, counts in tallies.items()
    }
