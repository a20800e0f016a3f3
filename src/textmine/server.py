"""What the web server holds between requests: one SQLite connection per worker thread
(a connection belongs to its thread), one embedding model and one vector index shared
by all, and `serve()`, which starts uvicorn.

Query embedding is the expensive step of a search (about 25 ms on 2 cores). Concurrent
requests therefore share it: the first thread to reach the model embeds every query
that is waiting at that moment in one batch, and recent query vectors are kept, so
paging through results or clicking a facet does not embed the same query again."""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .errors import StoreError
from .store import DB_NAME, Store

QUERY_CACHE = 2048


class _Waiting:
    __slots__ = ("texts", "vectors")

    def __init__(self, texts: list[str]):
        self.texts = texts
        self.vectors: np.ndarray | None = None


class QueryEncoder:
    """A thread-safe front to an Embedder for queries: cached, and batched across
    threads. Passage embedding and the model's name and dimension pass through."""

    def __init__(self, embedder, cache_size: int = QUERY_CACHE):
        self.embedder = embedder
        self.model_name = embedder.model_name
        self.dimension = embedder.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._queue: list[_Waiting] = []
        self._queue_lock = threading.Lock()
        self._model_lock = threading.Lock()

    def embed_queries(self, texts) -> np.ndarray:
        texts = list(texts)
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            found.update(self._embed_batched(missing))
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    def _embed_batched(self, texts: list[str]) -> dict[str, np.ndarray]:
        me = _Waiting(texts)
        with self._queue_lock:
            self._queue.append(me)
        with self._model_lock:
            if me.vectors is None:  # nobody took my texts along: embed all that wait
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                if me not in batch:  # taken along by a batch that failed: retry mine
                    batch.append(me)
                unique = list(dict.fromkeys(t for w in batch for t in w.texts))
                vectors = dict(zip(unique, self.embedder.embed_queries(unique)))
                for w in batch:
                    w.vectors = np.stack([vectors[t] for t in w.texts])
                with self._cache_lock:
                    for t, v in vectors.items():
                        self._cache[t] = v
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return dict(zip(texts, me.vectors))

    def embed_passages(self, texts) -> np.ndarray:
        with self._model_lock:
            return self.embedder.embed_passages(texts)


class WebState:
    """The store, model and index behind the web app."""

    def __init__(self, home: str | Path, embedder=None):
        self.home = Path(home)
        if not (self.home / DB_NAME).exists():
            raise StoreError(f"no store in {self.home}: run `textmine ingest` first (or pass --home)")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._encoder = QueryEncoder(embedder) if embedder is not None else None
        self._index = None
        self._index_stamp = None

    def store(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.home, create=False)
            self._local.store = store
        return store

    def encoder(self) -> QueryEncoder:
        with self._lock:
            if self._encoder is None:
                from .embed import Embedder

                self._encoder = QueryEncoder(Embedder())
            return self._encoder

    def index(self):
        """The vector index, reloaded when an ingest or reindex has rewritten it."""
        from .index.vectors import VectorIndex

        manifest = self.home / "vectors" / "manifest.json"
        stamp = manifest.stat().st_mtime_ns if manifest.exists() else None
        encoder = self.encoder()
        with self._lock:
            if self._index is None or stamp != self._index_stamp:
                self._index = VectorIndex.open(self.home, encoder.model_name, encoder.dimension)
                self._index_stamp = stamp
            return self._index

    def searcher(self):
        from .search import Searcher

        return Searcher(self.store(), self.encoder(), self.index())

    def warm(self) -> None:
        """Load the model and index before the first request, not during it."""
        self.index()
        self.encoder().embed_queries(["uppvärmning"])


def serve(home: Path, host: str = "127.0.0.1", port: int = 8000, reload_templates: bool = False) -> None:
    import uvicorn

    from .app import create_app

    state = WebState(home)
    print(f"textmine: loading the model and index from {home} ...", file=sys.stderr, flush=True)
    state.warm()
    app = create_app(state)
    print(f"textmine: serving {home} on http://{host}:{port} (Ctrl-C stops)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
