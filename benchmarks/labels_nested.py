"""Nested document-grouped cross-validation of the passage-label model on the training
split only: the tool for deciding a model or data change without touching the test split.

Outer folds: 5 folds over the training documents, on two outer splits, A (documents in
GroupKFold's order) and B (documents shuffled, seed 1). Inside each outer fold the shipped
procedure (labels.fit: every member's C and the thresholds by inner grouped CV) is redone on
the fold's training documents. Scores of the held-out documents are pooled per split.

Measures per label: average precision (AP) of the pooled outer scores, precision and recall at
the thresholds the procedure picked, and the best precision at recall >= 0.75 (ranking only).

--extra FILE adds labelled passages (the labelled set's JSON-lines format, with text) to the
training part of every outer fold; they are never scored, so AP stays comparable with a run
without them. benchmarks/data/extra_fictional_passages.jsonl is such a file (see the README).

Usage: python benchmarks/labels_nested.py --home STORE [--extra FILE] [--json]
(STORE: the demo corpus and ../shared/real-corpus ingested; a run takes 1-4 minutes on 2 cores)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def outer_splits(docs: np.ndarray) -> dict[str, np.ndarray]:
    perm = {d: i for i, d in enumerate(np.random.default_rng(1).permutation(sorted(set(docs))))}
    return {"A": docs, "B": np.array([perm[d] for d in docs])}


def precision_at_recall(scores: np.ndarray, y: np.ndarray, recall: float = 0.75) -> float:
    order = np.argsort(-scores)
    hits = np.cumsum(y[order])
    reached = hits / y.sum() >= recall
    return float((hits / np.arange(1, len(y) + 1))[reached].max())


def evaluate(home: Path, extra: Path | None = None) -> dict:
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import GroupKFold

    from textmine import labels
    from textmine.embed import Embedder
    from textmine.store import Store

    store = Store(home, create=False)
    embedder = Embedder()
    train = [e for e in labels.load_examples() if e.split == "train"]
    x, texts, train = labels.example_inputs(store, embedder, train)
    docs = np.array([e.document for e in train])
    y = labels.targets_of(train)
    if extra:
        added = labels.load_examples(extra)
        x_extra, texts_extra, added = labels.example_inputs(store, embedder, added)
        docs_extra, y_extra = [e.document for e in added], labels.targets_of(added)
    else:
        x_extra, texts_extra, docs_extra = np.zeros((0, x.shape[1])), [], []
        y_extra = {label: np.zeros(0, dtype=int) for label in labels.LABELS}
    store.close()

    out = {"train_passages": len(train), "train_documents": len(set(docs)), "extra_passages": len(texts_extra),
           "extra_documents": len(set(docs_extra)), "splits": {}}
    for name, groups in outer_splits(docs).items():
        scores = {label: np.zeros(len(train)) for label in labels.LABELS}
        picked = {label: np.zeros(len(train)) for label in labels.LABELS}
        for k, (tr, te) in enumerate(GroupKFold(5).split(x, groups=groups)):
            model = labels.fit(np.vstack([x[tr], x_extra]), {l: np.concatenate([y[l][tr], y_extra[l]]) for l in labels.LABELS},
                               embedder.model_name, "nested", list(docs[tr]) + list(docs_extra),
                               [texts[i] for i in tr] + list(texts_extra))
            fold = model.scores(x[te], [texts[i] for i in te])
            for label in labels.LABELS:
                scores[label][te] = fold[label]
                picked[label][te] = model.thresholds[label]
            print(f"split {name}: outer fold {k + 1}/5 done", file=sys.stderr, flush=True)
        rows = {}
        for label in labels.LABELS:
            truth = y[label].astype(bool)
            pred = scores[label] >= picked[label]
            tp = int((pred & truth).sum())
            rows[label] = {"ap": float(average_precision_score(truth, scores[label])),
                           "precision": tp / max(int(pred.sum()), 1), "recall": tp / int(truth.sum()),
                           "precision_at_recall_075": precision_at_recall(scores[label], truth)}
        out["splits"][name] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a store with the demo corpus and the real documents ingested")
    parser.add_argument("--extra", type=Path, help="labelled passages added to every outer fold's training part")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    result = evaluate(Path(args.home), args.extra)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"\nNested CV on the training split: {result['train_passages']} passages of {result['train_documents']} documents"
          f" (+ {result['extra_passages']} extra passages of {result['extra_documents']} documents in every training part)\n")
    print("| split | label | AP | P at chosen threshold | R at chosen threshold | best P at R >= 0.75 |")
    print("|---|---|---:|---:|---:|---:|")
    for name, rows in result["splits"].items():
        for label, r in rows.items():
            print(f"| {name} | {label} | {r['ap']:.3f} | {r['precision']:.2f} | {r['recall']:.2f}"
                  f" | {r['precision_at_recall_075']:.3f} |")


if __name__ == "__main__":
    main()
