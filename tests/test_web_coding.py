"""The coding pages of the web app: login (hashed passwords, sessions, CSRF), coding a
passage or a span from search results and the document view, bulk coding, undo,
suggestions, agreement, charts, quotes and exports; and the coding flow in headless
Chromium. Runs on a copy of the demo store so the other web tests see no codings."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, served

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "rätt-lösenord-1"


@pytest.fixture(scope="module")
def coding_state(corpus_home, tmp_path_factory, web_state):
    from textmine.server import WebState

    home = tmp_path_factory.mktemp("webcoding") / "home"
    shutil.copytree(corpus_home, home)
    state = WebState(home, embedder=web_state.encoder().embedder)  # the same model, loaded once
    state.warm()
    return state


@pytest.fixture(scope="module")
def app(coding_state):
    from textmine.app import create_app

    return create_app(coding_state)


def new_client(app):
    from fastapi.testclient import TestClient

    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, name: str, password: str, create: bool = False):
    page = client.get("/login?next=/coding")
    data = {"csrf": csrf_of(page.text), "name": name, "password": password, "next": "/coding"}
    if create:
        data["create"] = "1"
    return client.post("/login", data=data)


@pytest.fixture(scope="module")
def anna(app):
    """Anna made the first account from the login page."""
    client = new_client(app)
    r = login(client, "Anna", PASSWORD, create=True)
    assert r.status_code == 303 and r.headers["location"] == "/coding"
    return client


@pytest.fixture(scope="module")
def bertil(app, anna):
    """Anna adds Bertil as a second coder; he logs in with his own password."""
    csrf = csrf_of(anna.get("/coding").text)
    r = anna.post("/coding/coders", data={"csrf": csrf, "name": "Bertil", "password": "bertils-lösen"})
    assert r.status_code == 303
    client = new_client(app)
    assert login(client, "Bertil", "bertils-lösen").status_code == 303
    return client


def hits(client, q: str) -> list[str]:
    return re.findall(r'class="hit-item" data-passage="([^"]+)"', client.get("/", params={"q": q}).text)


# --- login, sessions, CSRF ----------------------------------------------------------------

def test_searching_is_open_coding_needs_a_login(app):
    client = new_client(app)
    assert client.get("/", params={"q": "sekretess"}).status_code == 200
    r = client.get("/coding/charts?by=county")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fcoding%2Fcharts")
    for path in ("/coding/assign", "/coding/bulk", "/coding/undo", "/logout"):
        r = client.post(path, data={"csrf": "x"})
        assert r.status_code == 401 and "logga in" in r.text
    assert client.get("/coding/export.qdpx").status_code == 303


def test_first_account_password_is_hashed_and_cookie_is_httponly(app, anna, coding_state):
    row = coding_state.store().db.execute("SELECT password FROM coders WHERE name='Anna'").fetchone()
    assert row["password"].startswith("scrypt$") and PASSWORD not in row["password"]
    client = new_client(app)
    page = client.get("/login")
    assert "Skapa konto" not in page.text  # only while no coder has a password
    r = login(client, "Anna", PASSWORD)
    cookie = r.headers["set-cookie"]
    assert "textmine_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    token = client.cookies.get("textmine_session")
    assert coding_state.store().db.execute("SELECT COUNT(*) FROM web_sessions WHERE token=?", (token,)).fetchone()[0] == 0


def test_wrong_password_and_stale_login_form(app, anna):
    client = new_client(app)
    r = login(client, "Anna", "fel-lösenord")
    assert r.status_code == 400 and "Fel namn eller lösenord" in r.text
    r = login(client, "Ingen", "vad-som-helst")
    assert r.status_code == 400 and "Fel namn eller lösenord" in r.text  # the same words: no user enumeration
    r = client.post("/login", data={"csrf": "gammal", "name": "Anna", "password": PASSWORD})
    assert r.status_code == 403


def test_no_open_redirect_after_login(app, anna):
    client = new_client(app)
    page = client.get("/login", params={"next": "//evil.example/x"})
    r = client.post("/login", data={"csrf": csrf_of(page.text), "name": "Anna", "password": PASSWORD,
                                    "next": "//evil.example/x"})
    assert r.headers["location"] == "/coding"


def test_post_without_or_with_a_foreign_csrf_token_is_refused(anna, bertil):
    pid = hits(anna, "sekretess samtycke")[0]
    for token in ("", "fel", csrf_of(bertil.get("/coding").text)):
        r = anna.post("/coding/assign", data={"csrf": token, "passage_id": pid, "code": "Sekretess och samtycke"})
        assert r.status_code == 403 and "CSRF" in r.text


# --- coding -----------------------------------------------------------------------------

def test_code_a_span_from_the_passage_page_and_undo(anna, coding_state):
    pid = hits(anna, "sekretess samtycke informationsöverföring")[0]
    page = anna.get(f"/coding/passages/{pid}")
    assert page.status_code == 200 and 'id="passage-text"' in page.text
    text = coding_state.store().passage_by_id(pid)["text"]
    r = anna.post("/coding/assign", data={"csrf": csrf_of(page.text), "passage_id": pid, "code": "Sekretess och samtycke",
                                          "start": "0", "end": "40"})
    assert r.status_code == 303 and "Markeringen" in r.headers["location"].replace("+", " ") or "Markeringen" in r.headers["location"]
    page = anna.get(r.headers["location"])
    assert 'class="coded"' in page.text and "Sekretess och samtycke" in page.text
    stored = coding_state.store().codings(passage_ids=[pid])
    assert [(c["start"], c["end"], c["text"]) for c in stored] == [(0, 40, text[:40])]
    r = anna.post("/coding/undo", data={"csrf": csrf_of(page.text), "next": f"/coding/passages/{pid}"})
    assert r.status_code == 303
    assert coding_state.store().codings(passage_ids=[pid]) == []


def test_bad_spans_and_unknown_codes_are_4xx_with_one_line(anna):
    pid = hits(anna, "bostadsbrist")[0]
    csrf = csrf_of(anna.get("/coding").text)
    for data, words in (({"start": "5", "end": "100000"}, "utanför"), ({"start": "a", "end": "9"}, "heltal"),
                        ({"start": "3"}, "både"), ({"code": "Finns inte"}, "finns inte i kodboken")):
        form = {"csrf": csrf, "passage_id": pid, "code": "Bostadsbrist", **data}
        r = anna.post("/coding/assign", data=form)
        assert r.status_code in (400, 404) and words in r.text, (data, r.text[:300])
    r = anna.post("/coding/assign", data={"csrf": csrf, "passage_id": "nope", "code": "Bostadsbrist"})
    assert r.status_code == 404


def test_bulk_coding_from_search_results(anna, coding_state):
    page = anna.get("/", params={"q": "krav att söka bostad i andra kommuner för försörjningsstöd"})
    assert 'action="/coding/bulk"' in page.text and 'form="bulk"' in page.text
    ids = re.findall(r'name="passage_id" value="([^"]+)" form="bulk"', page.text)[:4]
    assert len(ids) == 4
    r = anna.post("/coding/bulk", data={"csrf": csrf_of(page.text), "passage_id": ids,
                                        "code": "Krav på bostadssökande utanför kommunen", "next": "/?q=krav"})
    assert r.status_code == 303 and r.headers["location"].startswith("/?q=krav")
    coded = {c["passage_id"] for c in coding_state.store().codings()
             if c["code_name"] == "Krav på bostadssökande utanför kommunen" and c["coder_name"] == "Anna"}
    assert coded == set(ids)


def test_document_view_links_to_coding_when_logged_in(anna, app):
    page = anna.get("/documents/26?page=4")
    assert "Koda avsnitt på sidan 4" in page.text and "/coding/passages/" in page.text
    assert "/coding/passages/" not in new_client(app).get("/documents/26?page=4").text


def test_suggestions_accept_and_reject(anna, coding_state):
    store = coding_state.store()
    code = store.code("Sekretess och samtycke")
    page = anna.get(f"/coding/codes/{code['id']}")
    suggested = re.findall(r'class="suggestion" data-passage="([^"]+)"', page.text)
    assert len(suggested) == 10
    texts = [store.passage_by_id(p)["text"].lower() for p in suggested]
    assert sum(("sekretess" in t or "samtycke" in t or "uppgifter" in t) for t in texts) >= 6
    csrf = csrf_of(page.text)
    anna.post("/coding/decide", data={"csrf": csrf, "code": code["name"], "passage_id": suggested[0], "decision": "accept"})
    anna.post("/coding/decide", data={"csrf": csrf, "code": code["name"], "passage_id": suggested[1], "decision": "reject"})
    again = re.findall(r'class="suggestion" data-passage="([^"]+)"', anna.get(f"/coding/codes/{code['id']}").text)
    assert suggested[0] not in again and suggested[1] not in again
    assert any(c["passage_id"] == suggested[0] for c in store.codings(code_ids=[code["id"]]))


def test_memo_on_a_code(anna, coding_state):
    code = coding_state.store().code("Bostadsbrist")
    page = anna.get(f"/coding/codes/{code['id']}")
    r = anna.post("/coding/memo", data={"csrf": csrf_of(page.text), "target_kind": "code", "target": str(code["id"]),
                                        "text": "Skilj från ekonomiska motiv.", "next": f"/coding/codes/{code['id']}"})
    assert r.status_code == 303
    assert "Skilj från ekonomiska motiv." in anna.get(f"/coding/codes/{code['id']}").text


def test_agreement_charts_quotes_and_exports(anna, bertil, coding_state):
    ids = hits(anna, "bostadsbrist hyresrätter")[:6]
    # both look at ids[0:5]; Anna sets Bostadsbrist on 0-3, Bertil on 1-4
    for client, chosen, other in ((anna, ids[:4], ids[4]), (bertil, ids[1:5], ids[0])):
        page = client.get("/coding")
        for passages, code in ((chosen, "Bostadsbrist"), ([other], "Kostnader för försörjningsstöd")):
            r = client.post("/coding/bulk", data={"csrf": csrf_of(page.text), "passage_id": passages, "code": code})
            assert r.status_code == 303
    page = anna.get("/coding/agreement", params={"a": "Anna", "b": "Bertil"})
    assert page.status_code == 200 and "Cohens kappa" in page.text and "Oenigheter att lösa" in page.text
    assert "satt av Bertil, inte av Anna" in page.text and "satt av Anna, inte av Bertil" in page.text
    from textmine.analysis import agreement

    report = agreement(coding_state.store(), "Anna", "Bertil")
    row = next(c for c in report.codes if c.code == "Bostadsbrist")
    assert (row.both, len(row.only_a), len(row.only_b)) == (3, 1, 1)
    charts = anna.get("/coding/charts", params={"by": "county"})
    assert charts.status_code == 200 and "Bostadsbrist" in charts.text
    svg = anna.get("/coding/charts/frequencies.svg", params={"by": "county"})
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content[:500]
    png = anna.get("/coding/charts/cooccurrence.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert anna.get("/coding/charts", params={"by": "planet"}).status_code == 400
    quotes = anna.get("/coding/quotes", params={"role": "sending"})
    assert quotes.status_code == 200 and "avsändande" in quotes.text
    assert anna.get("/coding/quotes", params={"size": "enorm"}).status_code == 400
    qdpx = anna.get("/coding/export.qdpx")
    assert qdpx.status_code == 200 and "attachment" in qdpx.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(qdpx.content)) as z:
        assert "project.qde" in z.namelist() and b"urn:QDA-XML:project:1.0" in z.read("project.qde")
    xlsx = anna.get("/coding/export.xlsx")
    assert xlsx.content[:2] == b"PK"
    csv_text = anna.get("/coding/export.csv").content.decode("utf-8-sig")
    assert csv_text.startswith("document,title,page") and "Bostadsbrist" in csv_text
    assert anna.get("/coding/export.pdf").status_code == 404


def test_logout_ends_the_session(app, coding_state):
    client = new_client(app)
    assert login(client, "Anna", PASSWORD).status_code == 303
    page = client.get("/coding")
    assert client.post("/logout", data={"csrf": csrf_of(page.text)}).status_code == 303
    assert client.get("/coding").status_code == 303


# --- in the browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_url(app):
    """The app served by uvicorn on a free port of 127.0.0.1, in a thread."""
    with served(app) as url:
        yield url


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (`make test` installs it)")
def test_coding_flow_in_the_browser(base_url, anna, coding_state):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_context(viewport={"width": 1366, "height": 900}, locale="sv-SE").new_page()
        # a coding page asks for a login and comes back after it
        page.goto(base_url + "/coding")
        expect(page.locator("h1", has_text="Logga in")).to_be_visible()
        page.fill("input[name=name]", "Anna")
        page.fill("input[name=password]", PASSWORD)
        page.click("button:has-text('Logga in')")
        expect(page.locator("h1", has_text="Kodning")).to_be_visible()
        expect(page.locator(".account")).to_contain_text("Anna")
        shot(page, "20-coding-home")

        # bulk coding from the result list
        page.goto(base_url + "/?q=" + "överenskommelse mellan kommuner om information vid flytt")
        boxes = page.locator("input[form=bulk]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.select_option("#bulk select[name=code]", "Överenskommelser och avsiktsförklaringar")
        page.click("#bulk button[type=submit]")
        expect(page.locator(".flash")).to_contain_text("2 avsnitt kodade")
        shot(page, "21-bulk-coded")

        # code a span: select words in the passage text, the offsets fill in, code it
        page.locator("li.hit-item a.code-link").first.click()
        expect(page.locator("h1", has_text="Koda avsnitt")).to_be_visible()
        page.evaluate("""() => {
            const box = document.getElementById('passage-text');
            const node = box.firstChild;
            const r = document.createRange();
            r.setStart(node, 0); r.setEnd(node, 25);
            const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
            document.dispatchEvent(new Event('selectionchange'));
        }""")
        expect(page.locator("#span-end")).to_have_value("25")
        page.select_option("#assign select[name=code]", "Sekretess och samtycke")
        page.click("#assign button[type=submit]")
        expect(page.locator(".flash")).to_contain_text("Markeringen är kodad")
        expect(page.locator("#passage-text .coded")).to_have_count(1)
        shot(page, "22-span-coded")
        pid = page.url.split("/coding/passages/")[1].split("?")[0]
        span = [c for c in coding_state.store().codings(passage_ids=[pid]) if c["start"] is not None]
        assert [(c["start"], c["end"]) for c in span] == [(0, 25)]

        # undo it
        page.click("button:has-text('Ångra min senaste åtgärd')")
        expect(page.locator(".flash")).to_contain_text("Ångrade")
        expect(page.locator("#passage-text .coded")).to_have_count(0)

        # charts render
        page.goto(base_url + "/coding/charts?by=doc_type")
        img = page.locator("img.chart").first
        expect(img).to_be_visible()
        page.wait_for_function("() => [...document.querySelectorAll('img.chart')].every(i => i.complete && i.naturalWidth > 0)")
        shot(page, "23-charts")

        # logging out closes the coding pages again
        page.click(".account button:has-text('Logga ut')")
        page.goto(base_url + "/coding")
        expect(page.locator("h1", has_text="Logga in")).to_be_visible()
        browser.close()
