"""Passage labels (dumping_case, good_practice, proposal, interview_quote) and the cases
read from dumping_case passages: the labelled set, the labels in the demo store, the
`passages` command, the search filter, the ready searches, and sender/receiver roles."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_cli


def test_the_labelled_set_is_large_split_by_document_and_ships_no_real_text():
    from textmine.labels import LABELS, load_examples

    examples = load_examples()
    assert len(examples) >= 400
    counts = Counter(label for e in examples for label in e.labels)
    assert all(counts[label] >= 30 for label in LABELS), counts
    assert sum(1 for e in examples if not e.labels) >= 250  # plenty of negatives
    splits = {}
    for e in examples:
        splits.setdefault(e.document, set()).add(e.split)
    assert all(len(s) == 1 for s in splits.values())  # no document on both sides
    assert {e.split for e in examples} == {"train", "test"}
    real = [e for e in examples if e.document.startswith(("statskontoret-", "regeringsbeslut-2021-05-06"))]
    assert real and all(e.text is None for e in real)  # real documents: ids only, their text is not copied in
    # legal text about other subjects is among the negatives
    assert any(not e.labels and e.doc_type == "court_ruling" for e in examples)


def test_passages_command_lists_labelled_passages_with_path_and_page(corpus_home):
    out = run_cli("passages", "--label", "good_practice", "--home", str(corpus_home), "--json", check=True)
    rows = json.loads(out.stdout)
    assert len(rows) >= 10
    assert all(r["label"] == "good_practice" and r["path"] and r["page"] >= 1 for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    # agreements are good practice
    assert Counter(r["doc_type"] for r in rows)["agreement"] >= 3
    lower = json.loads(run_cli("passages", "--label", "good_practice", "--min-score", "0.2", "--home", str(corpus_home),
                               "--json", check=True).stdout)
    assert len(lower) >= len(rows)
    cases = json.loads(run_cli("passages", "--label", "dumping_case", "--limit", "20", "--home", str(corpus_home),
                               "--json", check=True).stdout)
    assert len(cases) == 20
    text = " ".join(r["text"].lower() for r in cases)
    assert any(w in text for w in ("annan kommun", "andra kommuner", "hela landet", "flytt"))


@pytest.mark.parametrize("args, words", [
    (("--label", "fall"), "unknown label"),
    (("--label", "proposal", "--min-score", "2"), "between 0 and 1"),
])
def test_passages_command_errors_are_one_line(corpus_home, args, words):
    out = run_cli("passages", *args, "--home", str(corpus_home))
    assert out.returncode != 0 and words in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_the_labels_agree_with_the_annotators_on_the_demo_store(corpus_home):
    """A guard against a broken model, not the issue's target (benchmarks/labels.py
    measures that on the test split): on the demo corpus, which the shipped model was
    trained on in part, the stored labels mostly match the annotators'."""
    from textmine.labels import LABELS, load_examples
    from textmine.store import Store

    gold = {e.passage_id: set(e.labels) for e in load_examples()}
    with Store(corpus_home) as store:
        for label in LABELS:
            got = {r["passage_id"] for r in store.labelled_passages(label)}
            truth = {p for p, labels in gold.items() if label in labels}
            got_known = got & set(gold)
            precision = len(got_known & truth) / len(got_known)
            recall = len(got_known & truth) / len(truth & {r["passage_id"] for r in store.passage_rows()})
            assert precision >= 0.7 and recall >= 0.6, (label, precision, recall)


def test_search_filters_by_label_and_the_ready_searches_use_labels(client, corpus_home):
    from textmine.search import Filters, Searcher
    from textmine.store import Store
    from textmine.webview import READY_SEARCHES

    assert [r["params"]["label"] for r in READY_SEARCHES] == ["dumping_case", "good_practice"]
    with Store(corpus_home) as store:
        labelled = {r["passage_id"] for r in store.labelled_passages("dumping_case")}
        result = Searcher(store).search("bostad i annan kommun", k=20, filters=Filters(label="dumping_case"))
    assert result.hits and {h.passage_id for h in result.hits} <= labelled
    page = client.get("/", params={"q": "överenskommelse", "label": "good_practice"})
    assert page.status_code == 200 and "Etikett: Goda exempel" in page.text
    assert client.get("/", params={"q": "x", "label": "nonsense"}).status_code == 400
    api = client.get("/api/search", params={"q": "bostad", "label": "proposal"}).json()
    assert api["hits"]


def test_sending_and_receiving_municipalities_are_read_from_the_text():
    from textmine.cases import municipality_roles

    assert municipality_roles("Under 2020 flyttade 19 hushåll från Stockholm till Ljusnarsberg.") == (["0180"], ["1864"])
    assert municipality_roles("Karlstads kommun betalade flytten till Filipstad.") == (["1780"], ["1782"])
    assert municipality_roles("Socialnämnden i Helsingborgs kommun hade förmedlat en bostad i Perstorp.") == (["1283"], ["1275"])
    assert municipality_roles("Bostadsbristen är stor i hela landet.") == ([], [])


def test_cases_and_flows_on_the_demo_store(corpus_home):
    from textmine.cases import cases, flows
    from textmine.store import Store

    with Store(corpus_home) as store:
        found = cases(store)
    assert len(found) >= 30
    pairs = Counter((c.sender, c.receiver) for c in found if c.sender and c.receiver)
    # Södertälje -> Hällefors and Karlstad -> Filipstad are told in several demo documents
    assert pairs[("0181", "1863")] >= 2 and pairs[("1780", "1782")] >= 1
    assert all(c.sender_county == ("01" if c.sender == "0181" else c.sender_county) for c in found)
    assert any("nyanlända" in c.target_groups for c in found)
    assert all(c.year is None or 1980 <= c.year <= 2049 for c in found)
    by_county = flows(found, "county")
    assert sum(len(f.passages) for f in by_county) <= len(found)
    stockholm_orebro = next(f for f in by_county if f.sender == "01" and f.receiver == "18")
    assert stockholm_orebro.sender_name == "Stockholms län" and len(stockholm_orebro.passages) >= 2


def test_every_real_passage_of_the_labelled_set_is_one_the_parser_makes(real_report):
    """The set refers to the real documents' passages by id; when the parser's cut
    drifts the ids stop matching and those passages silently drop out of training
    (77 of Statskontoret's 103 did until 2026-12-04)."""
    from conftest import REAL

    from textmine.labels import load_examples
    from textmine.parse import parse_file
    from textmine.passages import build_passages

    real = [e for e in load_examples() if e.text is None]
    made = {p.passage_id for p in build_passages(real_report)}
    for name in {e.document for e in real} - {Path(real_report.path).name}:  # the four short ones
        made |= {p.passage_id for p in build_passages(parse_file(REAL / name))}
    missing = [e.passage_id for e in real if e.passage_id not in made]
    assert not missing, missing


def test_threshold_meets_both_targets_when_it_can_else_keeps_the_recall_target():
    import numpy as np

    from textmine.labels import pick_threshold

    # separable: a threshold exists with precision and recall both at 1
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.75, 0.7, 0.4, 0.3, 0.2, 0.1])
    t = pick_threshold(s, y)
    assert 0.4 < t <= 0.7
    # not separable: the highest threshold that still finds at least 78 % of the positives
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.65, 0.3, 0.2, 0.1, 0.2, 0.85])
    t = pick_threshold(s, y)
    assert t == 0.6 and ((s >= t) & (y == 1)).sum() / y.sum() >= 0.78


def test_the_stored_model_scores_as_its_fitted_members_do(tmp_path):
    """The ensemble is stored as plain weights (the standardised member's scaling
    folded in; the lexical member as vocabulary, idf and weights): its scores must equal
    the mix of the fitted scikit-learn members' probabilities, and survive a save and
    load; a model of an older format is not loaded."""
    import json

    import numpy as np
    from sklearn.base import clone

    from textmine import labels

    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 12)).astype(np.float32)
    x[:, 3] *= 40  # features on very different scales
    y = (x[:, 0] + x[:, 3] / 40 + rng.normal(scale=0.5, size=120) > 0).astype(int)
    groups = [f"doc{i % 10}" for i in range(120)]
    filler = ["Kommunen", "hade", "ett", "möte", "om", "bostäder", "i", "länet", "under", "året"]
    texts = [" ".join(rng.choice(filler, size=8)) + (" Nämnden betalade hyran i annan kommun." if y[i] and i % 3
                                                       else " Överenskommelse om SAMTYCKE." if i % 4 == 0 else "")
             for i in range(120)]
    model = labels.fit(x, {label: y for label in labels.LABELS}, "m", "h", groups, texts)
    got = model.scores(x, texts)["dumping_case"]
    settings = model.chosen["dumping_case"]
    assert [s.split()[0] for s in settings] == ["raw", "std", "lexical"]
    members = []
    for (name, make, _), setting in zip(labels._members(), settings):
        members.append(clone(make(float(setting.split("C=")[1]))).fit(x, y).predict_proba(x)[:, 1])
    lexical = labels._lexical(float(settings[2].split("C=")[1])).fit(np.array(texts, dtype=object), y)
    share = model.lexical_share
    assert share == labels.LEXICAL_SHARE > 0
    want = (1 - share) * np.mean(members, axis=0) + share * lexical.predict_proba(np.array(texts, dtype=object))[:, 1]
    assert np.allclose(got, want, atol=1e-4)
    assert ((got >= model.thresholds["dumping_case"]) == y).mean() > 0.8
    # the lexical features: lower-cased words and word pairs seen in two or more passages
    assert {"betalade hyran", "annan kommun", "samtycke", "kommunen"} <= set(model.vocabulary)
    assert "Överenskommelse" not in model.vocabulary and len(model.idf) == len(model.vocabulary)
    idx, val = model.lexical_features(["Nämnden betalade hyran och hyran igen"])[0]
    assert {model.vocabulary[i] for i in idx} == {"nämnden", "betalade", "hyran", "nämnden betalade", "betalade hyran"}
    assert np.isclose(np.linalg.norm(val), 1.0)
    assert model.lexical_weights["dumping_case"][model.vocabulary.index("betalade hyran")] > 0
    with pytest.raises(labels.LabelError):
        model.scores(x)  # the lexical part needs the texts

    path = tmp_path / "model.json"
    model.save(path)
    assert np.allclose(labels.LabelModel.load(path).scores(x, texts)["dumping_case"], got)
    old = json.loads(path.read_text())
    old["version"] = labels.MODEL_VERSION - 1
    path.write_text(json.dumps(old))
    assert labels.LabelModel.load(path) is None
