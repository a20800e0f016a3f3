"""The FAISS index of passage embeddings, kept under <home>/vectors/ with a manifest
(model, dimension, count, kind) that is checked at load, so that a store built with one
model is never searched with another. Ids are the passages' rowids in the store.

Kind: exact inner product (IndexFlatIP) up to HNSW_THRESHOLD vectors, HNSW above it;
benchmarks/latency.py measured where exact search gets too slow on this machine. Writes
are atomic: the new files are written next to the old ones, then renamed."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import StoreError

# Above this many vectors an exact search no longer fits the latency budget on 2 cores
# (see benchmarks/latency.py: flat p95 passes 100 ms between 200k and 1M vectors).
HNSW_THRESHOLD = 200_000
HNSW_M = 32
HNSW_EF_SEARCH = 128
MANIFEST_VERSION = 1


@dataclass
class Manifest:
    model: str
    dimension: int
    count: int
    kind: str  # flat | hnsw
    built_at: float
    version: int = MANIFEST_VERSION


class VectorIndex:
    def __init__(self, folder: Path, index, manifest: Manifest):
        self.folder = folder
        self.index = index
        self.manifest = manifest

    # --- load / save -------------------------------------------------------------------

    @classmethod
    def open(cls, home: Path, model: str, dimension: int) -> "VectorIndex":
        """Load the index under home, or an empty one; a model or dimension mismatch is
        an error that says what to do."""
        import faiss

        folder = Path(home) / "vectors"
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            return cls(folder, _new_index(dimension, "flat"), Manifest(model, dimension, 0, "flat", time.time()))
        try:
            manifest = Manifest(**json.loads(manifest_path.read_text()))
        except (ValueError, TypeError) as exc:
            raise StoreError(f"the vector index manifest in {folder} is damaged ({exc}): run `textmine reindex`") from exc
        if manifest.model != model or manifest.dimension != dimension:
            raise StoreError(
                f"the vector index was built with {manifest.model} ({manifest.dimension} dims) but the model now is "
                f"{model} ({dimension} dims): run `textmine reindex`"
            )
        index = faiss.read_index(str(folder / "index.faiss"))
        if index.ntotal != manifest.count or index.d != dimension:
            raise StoreError(f"the vector index in {folder} does not match its manifest: run `textmine reindex`")
        return cls(folder, index, manifest)

    def save(self) -> None:
        import faiss

        self.folder.mkdir(parents=True, exist_ok=True)
        self.manifest.count = int(self.index.ntotal)
        self.manifest.built_at = time.time()
        tmp_index = self.folder / "index.faiss.tmp"
        tmp_manifest = self.folder / "manifest.json.tmp"
        faiss.write_index(self.index, str(tmp_index))
        tmp_manifest.write_text(json.dumps(self.manifest.__dict__, indent=2))
        os.replace(tmp_index, self.folder / "index.faiss")
        os.replace(tmp_manifest, self.folder / "manifest.json")

    # --- content ------------------------------------------------------------------------

    def ids(self) -> np.ndarray:
        import faiss

        if self.index.ntotal == 0:
            return np.zeros(0, dtype=np.int64)
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def sync(self, wanted_ids: np.ndarray, vectors_for) -> dict:
        """Make the index hold exactly `wanted_ids`. `vectors_for(ids)` returns their
        vectors (float32, normalised). Additions are appended; removals are removed from a
        flat index and trigger a rebuild of an HNSW one; crossing the threshold rebuilds."""
        have = self.ids()
        have_set, want_set = set(have.tolist()), set(wanted_ids.tolist())
        to_add = np.array(sorted(want_set - have_set), dtype=np.int64)
        to_remove = np.array(sorted(have_set - want_set), dtype=np.int64)
        kind = "hnsw" if len(want_set) > HNSW_THRESHOLD else "flat"
        rebuild = kind != self.manifest.kind or (len(to_remove) and self.manifest.kind == "hnsw")
        if rebuild:
            ids = np.array(sorted(want_set), dtype=np.int64)
            self.index = _new_index(self.manifest.dimension, kind)
            self.manifest.kind = kind
            _add(self.index, ids, vectors_for)
        else:
            if len(to_remove):
                self.index.remove_ids(to_remove)
            _add(self.index, to_add, vectors_for)
        return {"added": int(len(to_add)), "removed": int(len(to_remove)), "rebuilt": bool(rebuild), "count": int(self.index.ntotal), "kind": kind}

    def vectors(self, ids) -> np.ndarray | None:
        """The stored vectors of these passage ids, read from memory (IDMap2 keeps the
        id -> vector map); None when one of them is not in the index (not yet synced)."""
        if len(ids) == 0:
            return np.zeros((0, self.manifest.dimension), dtype=np.float32)
        try:
            return self.index.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        except RuntimeError:
            return None

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


def _new_index(dimension: int, kind: str):
    import faiss

    if kind == "hnsw":
        base = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        base.hnsw.efConstruction = 80
        base.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        base = faiss.IndexFlatIP(dimension)
    return faiss.IndexIDMap2(base)


def _add(index, ids: np.ndarray, vectors_for, batch: int = 50_000) -> None:
    for i in range(0, len(ids), batch):
        chunk = ids[i:i + batch]
        vectors = np.ascontiguousarray(vectors_for(chunk), dtype=np.float32)
        index.add_with_ids(vectors, chunk)
