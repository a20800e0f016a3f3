"""Precision and recall of the passage labels on the test split of the labelled set
(src/textmine/data/passage_labels.jsonl: every passage of the demo corpus and of the
five real documents, labelled by annotators who never saw the classifier; split by
document, so no document has passages on both sides).

The model is trained on the train split only, exactly as labels.label_model trains the
shipped one (which uses both splits), then scored on the test split.
Targets (issue #8): precision >= 0.85 and recall >= 0.75 for dumping_case and good_practice.

Usage: python benchmarks/labels.py [--home DIR]
(default: ingest corpus/documents and ../shared/real-corpus into a temporary store)"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
REAL = ROOT.parent / "shared" / "real-corpus"
TARGETS = {"dumping_case": (0.85, 0.75), "good_practice": (0.85, 0.75)}


def build_store() -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="textmine-labels-bench-"))
    sources = [str(ROOT / "corpus" / "documents")] + ([str(REAL)] if REAL.exists() else [])
    subprocess.run([sys.executable, "-m", "textmine.cli", "ingest", *sources, "--home", str(tmp), "--quiet"], check=True)
    return tmp


def evaluate(home: Path) -> dict:
    from textmine import labels
    from textmine.embed import Embedder
    from textmine.store import Store

    store = Store(home, create=False)
    embedder = Embedder()
    examples = labels.load_examples()
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    x_train, texts_train, train = labels.example_inputs(store, embedder, train)
    x_test, texts_test, test = labels.example_inputs(store, embedder, test)
    model = labels.fit(x_train, labels.targets_of(train), embedder.model_name, "benchmark", [e.document for e in train],
                       texts_train)
    scores = model.scores(x_test, texts_test)
    truth = labels.targets_of(test)
    out = {"train": len(train), "test": len(test), "test_documents": len({e.document for e in test}), "labels": {}}
    for label in labels.LABELS:
        pred = scores[label] >= model.thresholds[label]
        y = truth[label].astype(bool)
        tp = int((pred & y).sum())
        p = tp / pred.sum() if pred.sum() else None
        r = tp / y.sum() if y.sum() else None
        f1 = 2 * p * r / (p + r) if p and r else None
        out["labels"][label] = {"support": int(y.sum()), "predicted": int(pred.sum()), "precision": p, "recall": r,
                                "f1": f1, "threshold": model.thresholds[label], "train_support": int(truth_train(train, label))}
    store.close()
    return out


def truth_train(train, label: str) -> int:
    return sum(label in e.labels for e in train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", help="a store with the demo corpus and the real documents ingested")
    args = parser.parse_args()
    home = Path(args.home) if args.home else build_store()
    try:
        result = evaluate(home)
    finally:
        if not args.home:
            shutil.rmtree(home, ignore_errors=True)
    fmt = lambda v: "–" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"\nPassage labels on the test split: {result['test']} passages of {result['test_documents']} documents"
          f" (trained on {result['train']})\n")
    print("| label | test support | predicted | precision | recall | F1 | threshold | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for label, r in result["labels"].items():
        target = TARGETS.get(label)
        met = ""
        if target:
            ok = r["precision"] is not None and r["recall"] is not None and r["precision"] >= target[0] and r["recall"] >= target[1]
            met = f"P>={target[0]}, R>={target[1]}: {'met' if ok else 'NOT met'}"
        print(f"| {label} | {r['support']} | {r['predicted']} | {fmt(r['precision'])} | {fmt(r['recall'])} | {fmt(r['f1'])}"
              f" | {r['threshold']:.2f} | {met} |")


if __name__ == "__main__":
    main()
