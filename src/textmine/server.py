"""What the web server holds between requests: one SQLite connection per worker thread
(a connection belongs to its thread), one embedding model and one vector index shared
by all, and `serve()`, which starts uvicorn.

Query embedding is the expensive step of a search (about 25 ms on 2 cores). Concurrent
requests therefore share it: one embedding thread embeds every query waiting at that
moment in one batch, while search requests wait for it without holding a worker
thread; recent query vectors are kept, so paging through results or clicking a facet
does not embed the same query again."""

from __future__ import annotations

import queue
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .errors import StoreError
from .store import DB_NAME, Store

QUERY_CACHE = 2048
MAX_BATCH = 32
# Measured with benchmarks/web.py (20 clients, 2 cores): with FastAPI's default of 40
# threads, threads returning from SQLite wait in a convoy for the GIL (33 requests/s,
# p95 1.3 s); 4 threads keep both cores busy without it.
WORKER_THREADS = 4
# One inference thread for the embedding thread (torch and ONNX Runtime): with two,
# their workers and the request threads fight over the two cores (new-query throughput
# 29 -> 40 per second with one, before ONNX Runtime).
TORCH_THREADS = 1


class _Request:
    """One query waiting for its vector: a thread waits on the event, a coroutine on
    the future."""

    __slots__ = ("text", "event", "loop", "future", "error")

    def __init__(self, text: str, loop=None, future=None):
        self.text = text
        self.event = threading.Event() if future is None else None
        self.loop = loop
        self.future = future
        self.error: BaseException | None = None

    def resolve(self, error: BaseException | None) -> None:
        if self.future is not None:
            self.loop.call_soon_threadsafe(_settle, self.future, error)
        else:
            self.error = error
            self.event.set()


def _settle(future, error) -> None:
    if not future.done():  # the request may have been cancelled (client went away)
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class QueryEncoder:
    """A thread-safe front to an Embedder for queries: a cache of recent query
    vectors, and one embedding thread that embeds all queries waiting at a time in
    one batch (a batch of 16 costs about six single queries on 2 cores). Passage
    embedding and the model's name and dimension pass through."""

    def __init__(self, embedder, cache_size: int = QUERY_CACHE, max_batch: int = MAX_BATCH):
        self.embedder = embedder
        self.model_name = embedder.model_name
        self.dimension = embedder.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        # one embedding thread: a second one, overlapping batches, measured slower
        threading.Thread(target=self._run, name="query-embedder", daemon=True).start()

    def cached(self, text: str) -> np.ndarray | None:
        with self._cache_lock:
            v = self._cache.get(text)
            if v is not None:
                self._cache.move_to_end(text)
            return v

    def embed_queries(self, texts) -> np.ndarray:
        texts = list(texts)
        found = {t: v for t in dict.fromkeys(texts) if (v := self.cached(t)) is not None}
        waiting = [_Request(t) for t in dict.fromkeys(texts) if t not in found]
        for req in waiting:
            self._queue.put(req)
        for req in waiting:
            req.event.wait()
            if req.error is not None:
                raise req.error
            found[req.text] = self.cached(req.text)
            if found[req.text] is None:  # evicted already (a flood of new queries): embed directly
                found[req.text] = self._embed([req.text])[0]
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, self.dimension), np.float32)

    async def prefetch(self, text: str) -> None:
        """Have this query's vector in the cache, without holding a worker thread while
        the model runs."""
        import asyncio

        if self.cached(text) is not None:
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Request(text, loop, future))
        await future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            texts = [t for t in dict.fromkeys(r.text for r in batch) if self.cached(t) is None]
            error = None
            try:
                if texts:
                    vectors = self._embed(texts)
                    with self._cache_lock:
                        for t, v in zip(texts, vectors):
                            self._cache[t] = v
                        while len(self._cache) > self._cache_size:
                            self._cache.popitem(last=False)
            except Exception as exc:  # reported to every waiting request, the thread lives on
                error = exc
            for r in batch:
                r.resolve(error)

    def _embed(self, texts: list[str]) -> np.ndarray:
        with self._model_lock:
            return self.embedder.embed_queries(texts)

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
        """Load the model, the index and the keyword lexicon before the first request,
        not during it."""
        from .index import lexical
        from .nlp.gazetteer import load_gazetteer

        self.index()
        self.encoder().embed_queries(["uppvärmning"])
        lexical.query_terms("försörjningsstöd bostadsbrist")  # loads the compound lexicon
        load_gazetteer()
        self.store().stats()


def serve(home: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    import torch
    import uvicorn

    from .app import create_app

    torch.set_num_threads(TORCH_THREADS)  # before the model loads: ONNX Runtime takes it too

    state = WebState(home)
    print(f"textmine: loading the model and index from {home} ...", file=sys.stderr, flush=True)
    state.warm()
    app = create_app(state)
    print(f"textmine: serving {home} on http://{host}:{port} (Ctrl-C stops)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
