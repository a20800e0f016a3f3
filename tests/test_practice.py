"""The good-example catalogue (#8): examples built from the good_practice passages of the
demo corpus, whose fictional world (corpus/sources/WORLD.md) has six good practices
GP1-GP6; review states with history; reviewers' corrections surviving a rebuild;
collections; the compiled report as HTML, PDF and DOCX; the CLI and the web pages
(login and CSRF for reviewing). Runs on a copy of the demo store."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest

from conftest import run_cli

PASSWORD = "granskare-lösen-1"


@pytest.fixture(scope="module")
def home(corpus_home, tmp_path_factory):
    h = tmp_path_factory.mktemp("practice") / "home"
    shutil.copytree(corpus_home, h)
    return h


@pytest.fixture(scope="module")
def store(home):
    from textmine.store import Store

    s = Store(home)
    yield s
    s.close()


def by_title(examples, needle: str):
    found = [e for e in examples if needle.lower() in e.title.lower() or needle.lower() in e.doc_title.lower()]
    assert found, f"no example about {needle!r}: {[e.title for e in examples]}"
    return found


def test_ingest_builds_the_catalogue_with_the_agreements_of_the_demo_world(store):
    from textmine.practice import list_examples

    examples = list_examples(store)
    assert len(examples) >= 10
    assert all(e.state == "candidate" for e in examples)
    # GP1: all twelve municipalities of Örebro län, signed 2022-03-15
    gp1 = [e for e in by_title(examples, "kommunerna i Örebro län") if e.doc_type == "agreement"][0]
    assert gp1.kind == "agreement" and gp1.county == "18" and gp1.county_name == "Örebro län"
    assert gp1.date == "2022-03-15"
    assert {"1880", "1860", "1863", "1864"} <= {p["code"] for p in gp1.parties} and len(gp1.parties) == 12
    assert gp1.pages[0] == 1 and gp1.citation.startswith(gp1.doc_title + ", s. 1")
    assert "samtycke" in gp1.text and gp1.mechanism
    # GP3: the bilateral agreement Växjö-Lessebo in Kronobergs län
    gp3 = [e for e in by_title(examples, "Växjö kommun och Lessebo") if e.doc_type == "agreement"][0]
    assert (gp3.kind, gp3.county, gp3.date) == ("agreement", "07", "2023-02-01")
    assert {p["code"] for p in gp3.parties} == {"0780", "0761"}
    # GP2: Dalarna's routine for information at a move, adopted 2022-06
    gp2 = [e for e in by_title(examples, "Rutin för informationsöverföring") if e.doc_type == "agreement"][0]
    assert gp2.kind == "routine" and gp2.county == "20" and gp2.date.startswith("2022-06")
    # GP6: training days in Västmanlands län
    assert any(e.kind == "training" and e.county == "19" for e in examples)
    # a county network (GP2's network in Dalarna)
    assert any(e.kind == "network" and e.county == "20" for e in examples)
    # an agreement document is one example, not one per passage
    docs = [e.document for e in examples if e.doc_type == "agreement"]
    assert len(docs) == len(set(docs))


def test_mechanism_is_one_sentence_about_how_it_works():
    from textmine.practice import mechanism_of

    text = ("Länsstyrelsen bedömer att arbetet har varit framgångsrikt. Om samtycke lämnas ska den avsändande kommunen "
            "informera den mottagande kommunen senast 14 dagar före flytten. 3. Kommunerna följer upp arbetet.")
    assert mechanism_of(text) == ("Om samtycke lämnas ska den avsändande kommunen informera den mottagande kommunen "
                                  "senast 14 dagar före flytten.")
    table = "Workshop | Datum | Tema. Nätverket träffas varje kvartal och delar rutiner för flytt."
    assert mechanism_of(table).startswith("Nätverket träffas")


def test_kind_title_and_page_list():
    from textmine.practice import kind_of, page_list, title_of

    assert kind_of("Länsstyrelsen höll två utbildningsdagar och en workshop.", "Rapport", "county_report") == "training"
    assert kind_of("Nätverket för socialchefer träffas regelbundet.", "Rapport", "county_report") == "network"
    assert kind_of("Text utan nyckelord.", "Överenskommelse om flytt", "agreement") == "agreement"
    assert kind_of("Text utan nyckelord.", "Rapport", "county_report") == "other"
    assert title_of("agreement", "samtycke", "Rapport", "county_report", ["0780", "0761"], "07") == \
        "Överenskommelse om samtycke och informationsöverföring – Växjö och Lessebo"
    assert page_list([5, 6, 9]) == "s. 5–6, 9" and page_list([3]) == "s. 3"


def test_review_keeps_state_history_and_corrections_over_a_rebuild(store):
    from textmine.practice import build_catalogue, get_example, list_examples, review_example

    e = list_examples(store, county="Örebro län")[0]
    reviewed = review_example(store, e.id, state="verified", reviewer="Anna Berg", note="Läst i originalet",
                              title="Örebro läns överenskommelse om flytt", date="2022-03-15",
                              parties=["Örebro", "Laxå kommun", "1863"])
    assert reviewed.state == "verified" and reviewed.reviewer == "Anna Berg"
    assert {p["name"] for p in reviewed.parties} == {"Örebro", "Laxå", "Hällefors"}
    assert set(reviewed.edited) >= {"title", "parties"}
    counts = build_catalogue(store)
    assert counts["added"] == 0 and counts["dropped"] == 0
    again = get_example(store, e.id)
    assert again.state == "verified" and again.title == "Örebro läns överenskommelse om flytt"
    assert {p["name"] for p in again.parties} == {"Örebro", "Laxå", "Hällefors"}
    history = store.example_reviews(e.id)
    assert history[-1]["reviewer"] == "Anna Berg" and history[-1]["changes"]["title"]


def test_bad_reviews_are_refused_and_change_nothing(store):
    from textmine.errors import NotFound
    from textmine.practice import PracticeError, get_example, list_examples, review_example

    e = list_examples(store, state="candidate")[0]
    for kwargs, message in [
        (dict(state="rejected", reviewer="Anna"), "note"),
        (dict(state="approved", reviewer="Anna"), "unknown state"),
        (dict(state="verified", reviewer=" "), "reviewer"),
        (dict(state="verified", reviewer="Anna", kind="manifest"), "unknown kind"),
        (dict(state="verified", reviewer="Anna", county="Atlantis län"), "unknown county"),
        (dict(state="verified", reviewer="Anna", parties=["Gotham"]), "unknown municipality"),
        (dict(state="verified", reviewer="Anna", date="15 mars"), "not a date"),
    ]:
        with pytest.raises(PracticeError, match=message):
            review_example(store, e.id, **kwargs)
    assert get_example(store, e.id).state == "candidate"
    with pytest.raises(NotFound):
        review_example(store, 10**9, state="verified", reviewer="Anna")


def test_collections_and_the_compiled_report(store, tmp_path):
    import docx
    from pypdf import PdfReader

    from textmine.practice import (PracticeError, add_to_collection, create_collection, list_examples,
                                   review_example)
    from textmine.report import ReportError, compile_report, write_report

    agreements = [e for e in list_examples(store, kind="agreement") if e.doc_type == "agreement"]
    for e in agreements:
        review_example(store, e.id, state="verified", reviewer="Anna Berg")
    rejected = list_examples(store, state="candidate")[0]
    review_example(store, rejected.id, state="rejected", reviewer="Anna Berg", note="Beskriver ett problem")
    create_collection(store, "Till regeringskansliet", "Underlag december")
    with pytest.raises(PracticeError, match="already"):
        create_collection(store, "till Regeringskansliet")
    add_to_collection(store, "Till regeringskansliet", [e.id for e in agreements[:3]] + [rejected.id])
    assert {e.id for e in list_examples(store, collection="Till regeringskansliet")} == \
        {e.id for e in agreements[:3]} | {rejected.id}

    report = compile_report(store, collection="Till regeringskansliet")
    assert report.n_examples == 3  # the rejected one stays out
    names = [g.county_name for g in report.groups]
    assert names == sorted(names)
    assert {e.id for g in report.groups for e in g.examples} == {e.id for e in agreements[:3]}

    whole = compile_report(store)
    assert {g.county for g in whole.groups} >= {"18", "07"}
    html_path, pdf_path, docx_path = tmp_path / "r.html", tmp_path / "r.pdf", tmp_path / "r.docx"
    write_report(whole, "html", html_path)
    write_report(whole, "pdf", pdf_path)
    write_report(whole, "docx", docx_path)
    html = html_path.read_text(encoding="utf-8")
    assert "<h2>Örebro län</h2>" in html and "<h2>Kronobergs län</h2>" in html
    first = whole.groups[0].examples[0]
    assert f"Källa: {first.doc_title}" in html and ", s. 1" in html
    pdf_text = " ".join(p.extract_text() for p in PdfReader(str(pdf_path)).pages)
    assert "Örebro län" in " ".join(pdf_text.split()) and "Källa:" in pdf_text
    d = docx.Document(str(docx_path))
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert "Örebro län" in headings and "Kronobergs län" in headings
    assert any(p.text.startswith("Källa: ") for p in d.paragraphs)
    with pytest.raises(ReportError, match="no verified"):
        compile_report(store, county="01")


def test_cli_examples_and_report(home, tmp_path):
    listed = run_cli("examples", "list", "--home", str(home), "--county", "18", "--json", check=True)
    rows = json.loads(listed.stdout)
    assert rows and all(r["county"] == "18" for r in rows)
    one = json.loads(run_cli("examples", "show", str(rows[0]["id"]), "--home", str(home), "--json", check=True).stdout)
    assert one["id"] == rows[0]["id"] and "reviews" in one
    r = run_cli("examples", "review", str(rows[-1]["id"]), "--state", "verified", "--reviewer", "Bertil", "--kind",
                "routine", "--home", str(home), "--json", check=True)
    assert json.loads(r.stdout)["kind"] == "routine"
    r = run_cli("examples", "collect", "Örebro", str(rows[-1]["id"]), "--create", "--home", str(home), "--json", check=True)
    assert json.loads(r.stdout)["size"] == 1
    out = tmp_path / "goda-exempel.docx"
    r = run_cli("report", "--collection", "Örebro", "--out", str(out), "--home", str(home), "--json", check=True)
    assert json.loads(r.stdout)["examples"] == 1 and out.stat().st_size > 5000
    # bad input: one line, non-zero, nothing written
    for args, needle in [
        (["examples", "review", "999999", "--state", "verified", "--reviewer", "X"], "finns inte"),
        (["examples", "review", str(rows[0]["id"]), "--state", "rejected", "--reviewer", "X"], "note"),
        (["examples", "list", "--county", "Narnia"], "unknown county"),
        (["report", "--out", str(tmp_path / "r.txt")], "--format"),
        (["report", "--out", str(tmp_path / "r.pdf"), "--collection", "finns-ej"], "finns inte"),
    ]:
        p = run_cli(*args, "--home", str(home))
        assert p.returncode != 0 and needle in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    assert not (tmp_path / "r.txt").exists() and not (tmp_path / "r.pdf").exists()


# --- web ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(home, web_state):
    from textmine.app import create_app
    from textmine.server import WebState

    state = WebState(home, embedder=web_state.encoder().embedder)
    return create_app(state)


def client_of(app):
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def reviewer(app, store):
    """A coder account (the same accounts review examples)."""
    from textmine.coding import add_coder

    if not any(c["name"] == "Cecilia" for c in store.coders()):
        add_coder(store, "Cecilia", PASSWORD)
    c = client_of(app)
    page = c.get("/login?next=/examples")
    r = c.post("/login", data={"csrf": csrf_of(page.text), "name": "Cecilia", "password": PASSWORD, "next": "/examples"})
    assert r.status_code == 303
    return c


def test_catalogue_pages_are_open_and_equal_the_cli(app, home):
    c = client_of(app)
    page = c.get("/examples?county=Örebro län")
    assert page.status_code == 200 and "Goda exempel" in page.text and "Örebro län" in page.text
    api = c.get("/api/examples?county=18").json()
    cli = json.loads(run_cli("examples", "list", "--county", "18", "--home", str(home), "--json", check=True).stdout)
    assert api == cli
    one = c.get(f"/examples/{api[0]['id']}")
    assert one.status_code == 200 and api[0]["title"].split(" – ")[0] in one.text
    assert f"/documents/{api[0]['document']}?page={api[0]['page']}" in one.text
    assert "Logga in" in one.text and 'action="/examples/' not in one.text  # no review form without a login
    doc_page = c.get(f"/documents/{api[0]['document']}")
    assert "Goda exempel ur dokumentet" in doc_page.text and f'href="/examples/{api[0]["id"]}"' in doc_page.text
    for url, status in [("/examples/987654", 404), ("/examples?state=godkänd", 400), ("/examples?county=Narnia", 400),
                        ("/api/examples?kind=x", 400), ("/report.exe", 400), ("/report.html?collection=ingen", 404),
                        ("/examples/abc", 400)]:
        r = c.get(url)
        assert r.status_code == status, (url, r.status_code)
    assert "finns inte" in c.get("/api/examples/987654").json()["error"]
    assert "okänt län" in c.get("/api/examples?county=Narnia").json()["error"]


def test_reviewing_on_the_web_needs_a_login_and_csrf(app, reviewer, store):
    from textmine.practice import get_example, list_examples

    e = list_examples(store, state="candidate")[0]
    anonymous = client_of(app)
    r = anonymous.post(f"/examples/{e.id}/review", data={"state": "verified", "csrf": "x"})
    assert r.status_code == 401
    r = reviewer.post(f"/examples/{e.id}/review", data={"state": "verified", "csrf": "fel"})
    assert r.status_code == 403
    page = reviewer.get(f"/examples/{e.id}")
    assert 'action="/examples/%d/review"' % e.id in page.text
    token = csrf_of(page.text)
    r = reviewer.post(f"/examples/{e.id}/review", data={"state": "rejected", "csrf": token, "note": ""})
    assert r.status_code == 400 and "varför" in r.text
    r = reviewer.post(f"/examples/{e.id}/review", data={
        "state": "verified", "csrf": token, "note": "Stämmer med källan", "title": "Ny rubrik", "kind": e.kind,
        "county": e.county or "", "parties": ", ".join(p["name"] for p in e.parties), "date": e.date or "",
        "mechanism": e.mechanism})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/examples/{e.id}")
    after = get_example(store, e.id)
    assert after.state == "verified" and after.reviewer == "Cecilia" and after.title == "Ny rubrik"
    assert after.edited == ["title"]  # fields sent back unchanged are not corrections
    page = reviewer.get(f"/examples/{e.id}")
    assert "Granskningshistorik" in page.text and "Stämmer med källan" in page.text
    # collect it into a new collection, then compile that collection
    r = reviewer.post(f"/examples/{e.id}/collect", data={"csrf": token, "new_collection": "Webbsamling"})
    assert r.status_code == 303
    assert "Webbsamling" in get_example(store, e.id).collections
    coll = next(c for c in store.collections() if c["name"] == "Webbsamling")
    rep = reviewer.get(f"/report.html?collection={coll['id']}")
    assert rep.status_code == 200 and "Ny rubrik" in rep.text and "Källa:" in rep.text
    pdf = reviewer.get(f"/report.pdf?collection={coll['id']}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    docx_resp = reviewer.get(f"/report.docx?collection={coll['id']}")
    assert docx_resp.status_code == 200 and docx_resp.content[:2] == b"PK"
    listing = reviewer.get("/collections")
    assert "Webbsamling" in listing.text and f"/report.pdf?collection={coll['id']}" in listing.text


def test_a_verified_example_outlives_its_removed_document(home, store):
    from textmine.practice import get_example, list_examples, review_example

    e = [x for x in list_examples(store, kind="agreement") if x.doc_type == "agreement"][-1]
    review_example(store, e.id, state="verified", reviewer="Anna Berg", note="Behålls")
    candidates = [x.id for x in list_examples(store, document=e.document, state="candidate")]
    run_cli("remove", str(e.document), "--home", str(home), check=True)
    kept = get_example(store, e.id)
    assert kept.state == "verified" and kept.document is None  # no link to a document that is gone
    assert kept.doc_title == e.doc_title and kept.pages == e.pages and kept.text == e.text
    remaining = {x.id for x in list_examples(store)}
    assert e.id in remaining and not (set(candidates) & remaining)
