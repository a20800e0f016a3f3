"""Nested document-grouped cross-validation of the passage-label model on the training
split only: the tool for deciding a model or data change without touching the test split.

Outer folds: 5 folds over the training documents, on two outer splits, A (documents in
GroupKFold's order) and B (documents shuffled, seed 1). Inside each outer fold the shipped
procedure (labels.fit: every member's C and the thresholds by inner grouped CV) is redone on
the fold's training documents. Scores of the held-out documents are pooled per split.
--sentence-labels FILE adds a variant for dumping_case: a sentence-level member trained on
hand-marked sentences (benchmarks/data/sentence_labels_dumping_case.jsonl), a passage's score
its best sentence's, mixed half and half with the shipped score (trial of 2026-12-05, not kept).

Measures per label: average precision (AP) of the pooled outer scores, precision and recall at
the thresholds the procedure picked, and the best precision at recall >= 0.75 (ranking only).

--extra FILE adds labelled passages (the labelled set's JSON-lines format, with text) to the
training part of every outer fold; they are never scored, so AP stays comparable with a run
without them. benchmarks/data/extra_fictional_passages.jsonl is such a file (see the README).

Usage: python benchmarks/labels_nested.py --home STORE [--extra FILE] [--sentence-labels FILE] [--json]
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


def sentences(context: str) -> list[str]:
    """The sentences of a passage's context text as the sentence labels number them (from 1):
    the body below the heading line, each line split at sentence ends, 3 words or more."""
    from textmine.passages import SENTENCE_END

    lines = context.split("\n")
    body = lines[1:] if len(lines) > 1 else lines
    out = [s.strip() for line in body for s in SENTENCE_END.split(line) if len(s.strip().split()) >= 3]
    return out or [context]


class SentenceMember:
    """dumping_case from hand-marked sentences: a logistic regression on sentence embeddings
    (marked sentences against all others), a passage scored by its best sentence."""

    def __init__(self, embedder, texts: list[str], passage_ids: list[str], marked: dict[str, set[int]]):
        cut = [sentences(t) for t in texts]
        self.owner = np.array([i for i, ss in enumerate(cut) for _ in ss])
        self.y = np.array([int(k + 1 in marked.get(pid, ())) for pid, ss in zip(passage_ids, cut) for k in range(len(ss))])
        print(f"embedding {len(self.owner)} sentences", file=sys.stderr, flush=True)
        self.vectors = embedder.embed_passages([s for ss in cut for s in ss])

    def scores(self, train: np.ndarray, test: np.ndarray, c: float) -> np.ndarray:
        from sklearn.linear_model import LogisticRegression

        rows = np.isin(self.owner, train)
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(self.vectors[rows], self.y[rows])
        p = lr.predict_proba(self.vectors)[:, 1]
        return np.array([p[self.owner == i].max() for i in test])

    def pick_c(self, train: np.ndarray, groups: np.ndarray, y: np.ndarray) -> float:
        from sklearn.metrics import average_precision_score
        from sklearn.model_selection import GroupKFold

        best = None
        for c in (1.0, 4.0, 16.0):
            inner = np.zeros(len(train))
            for a, b in GroupKFold(5).split(train, groups=groups[train]):
                inner[b] = self.scores(train[a], train[b], c)
            ap = average_precision_score(y[train], inner)
            if best is None or ap > best[0]:
                best = (ap, c)
        return best[1]


def evaluate(home: Path, extra: Path | None = None, sentence_labels: Path | None = None) -> dict:
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
    member = None
    if sentence_labels:
        marked = {d["passage_id"]: set(d["assert"]) for d in map(json.loads, sentence_labels.read_text().splitlines())}
        member = SentenceMember(embedder, texts, [e.passage_id for e in train], marked)

    out = {"train_passages": len(train), "train_documents": len(set(docs)), "extra_passages": len(texts_extra),
           "extra_documents": len(set(docs_extra)), "splits": {}}
    for name, groups in outer_splits(docs).items():
        scores = {label: np.zeros(len(train)) for label in labels.LABELS}
        picked = {label: np.zeros(len(train)) for label in labels.LABELS}
        mixed = np.zeros(len(train))
        for k, (tr, te) in enumerate(GroupKFold(5).split(x, groups=groups)):
            model = labels.fit(np.vstack([x[tr], x_extra]) if len(x_extra) else x[tr], {l: np.concatenate([y[l][tr], y_extra[l]]) for l in labels.LABELS},
                               embedder.model_name, "nested", list(docs[tr]) + list(docs_extra),
                               [texts[i] for i in tr] + list(texts_extra))
            fold = model.scores(x[te], [texts[i] for i in te])
            for label in labels.LABELS:
                scores[label][te] = fold[label]
                picked[label][te] = model.thresholds[label]
            if member:
                c = member.pick_c(tr, np.asarray(docs), y["dumping_case"])
                mixed[te] = 0.5 * fold["dumping_case"] + 0.5 * member.scores(tr, te, c)
            print(f"split {name}: outer fold {k + 1}/5 done", file=sys.stderr, flush=True)
        rows = {}
        for label in labels.LABELS:
            truth = y[label].astype(bool)
            pred = scores[label] >= picked[label]
            tp = int((pred & truth).sum())
            rows[label] = {"ap": float(average_precision_score(truth, scores[label])),
                           "precision": tp / max(int(pred.sum()), 1), "recall": tp / int(truth.sum()),
                           "precision_at_recall_075": precision_at_recall(scores[label], truth)}
        if member:
            truth = y["dumping_case"].astype(bool)
            rows["dumping_case"]["ap_with_sentence_member"] = float(average_precision_score(truth, mixed))
            rows["dumping_case"]["precision_at_recall_075_with_sentence_member"] = precision_at_recall(mixed, truth)
        out["splits"][name] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, help="a store with the demo corpus and the real documents ingested")
    parser.add_argument("--extra", type=Path, help="labelled passages added to every outer fold's training part")
    parser.add_argument("--sentence-labels", type=Path, help="hand-marked dumping_case sentences: adds the sentence-member variant")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args()
    from textmine.errors import TextmineError

    try:
        result = evaluate(Path(args.home), args.extra, args.sentence_labels)
    except (TextmineError, OSError) as err:  # a missing store or file: one line, no traceback
        sys.exit(f"labels_nested.py: {err}")
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
    for name, rows in result["splits"].items():
        r = rows["dumping_case"]
        if "ap_with_sentence_member" in r:
            print(f"\nsplit {name}, dumping_case with the sentence member: AP {r['ap_with_sentence_member']:.3f}"
                  f" (without {r['ap']:.3f}), best P at R >= 0.75 {r['precision_at_recall_075_with_sentence_member']:.3f}")


if __name__ == "__main__":
    main()
