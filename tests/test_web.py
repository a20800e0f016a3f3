"""The web app through FastAPI's TestClient over the demo corpus store: pages, their JSON
twins (equal to the CLI's --json), CSV, page images and original files, entity pages,
and safety (escaping, path traversal, odd and invalid input: 4xx, never 500)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest

from conftest import DOCUMENTS, run_cli

PRECEDENT_QUERY = "Får kommunen kräva att den som söker försörjningsstöd letar bostad i en annan kommun?"
RULINGS = {"kr-stockholm-2019-8812-18.pdf", "hfd-2023-ref-31.pdf", "fr-malmo-2021-6543-21.docx", "kr-goteborg-2022-2876-22.pdf",
           "fr-harnosand-2021-1540-21.pdf", "kr-sundsvall-2022-987-22.pdf", "fr-stockholm-2018-4155-18.pdf"}


def api(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    return r.json()


def hit_links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'class="hit-link" href="([^"]+)"', html)]


def doc_by_name(client, name: str) -> dict:
    return next(d for d in api(client, "/api/documents") if Path(d["path"]).name == name)


# --- pages --------------------------------------------------------------------------------


def test_start_page_has_ready_searches_and_overview(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="sv">' in html and "Färdiga sökningar" in html
    assert "Fall av aktiv medverkan" in html and "Goda exempel och överenskommelser" in html
    assert re.search(r"\d+ dokument, \d+ sidor, \d+ avsnitt", html)
    # a plain GET form: search works without JavaScript
    assert re.search(r'<form class="search" method="get" action="/"', html) and 'name="q"' in html


def test_search_page_shows_hits_with_meta_snippet_and_chips(client):
    r = client.get("/?" + urlencode({"q": PRECEDENT_QUERY}))
    assert r.status_code == 200
    html = r.text
    links = hit_links(html)
    assert len(links) == 10
    names = set()
    for link in links:
        parts = urlsplit(link)
        qs = parse_qs(parts.query)
        doc = api(client, parts.path.replace("/documents/", "/api/documents/"))
        names.add(Path(doc["path"]).name)
        assert 1 <= int(qs["page"][0]) <= doc["n_pages"] and qs["passage"][0] and parts.fragment == "passage"
    assert RULINGS & names
    assert html.count('<mark class="term">') >= 10  # query terms marked in the snippets
    assert 'class="chip chip-' in html and "sid. " in html
    for heading in ("Dokumenttyp", "Län", "Kommun", "Domstol", "År"):
        assert f"<h3>{heading}</h3>" in html
    assert "/search.csv?" in html


def test_facet_links_filter_and_keep_the_query(client):
    html = client.get("/?" + urlencode({"q": "bistånd flytt annan kommun"})).text
    facet = re.search(r'data-facet="doc_type">.*?<a href="([^"]+)">Dom/beslut</a>', html, re.S)
    assert facet, "the document type facet offers court rulings"
    url = unescape(facet.group(1))
    qs = parse_qs(urlsplit(url).query)
    assert qs["type"] == ["court_ruling"] and qs["q"] == ["bistånd flytt annan kommun"]
    filtered = client.get(url).text
    assert "Typ: Dom/beslut" in filtered  # the active filter, removable
    types = re.findall(r'<span class="type type-([a-z_]+)">', filtered)
    assert types and set(types) == {"court_ruling"}
    # the same state through the API
    data = api(client, url.replace("/?", "/api/search?"))
    assert data["hits"] and all(h["doc_type"] == "court_ruling" for h in data["hits"])


def test_year_county_and_entity_filters(client):
    data = api(client, "/api/search?" + urlencode({"q": "överenskommelse", "county": "Örebro län", "year_from": "2022", "year_to": "2023"}))
    assert data["hits"]
    assert all(h["date"] and 2022 <= int(h["date"][:4]) <= 2023 for h in data["hits"])
    data = api(client, "/api/search?" + urlencode({"q": "försörjningsstöd", "entity": "2001:453 4 kap. 1 §"}))
    assert data["hits"] and all(any(e["norm"] == "2001:453 4 kap. 1 §" for e in h["entities"]) for h in data["hits"])
    # filters without a query browse the passages
    data = api(client, "/api/search?type=agreement")
    assert data["hits"] and {h["doc_type"] for h in data["hits"]} == {"agreement"}


def test_pagination_continues_the_ranking(client):
    q = {"q": "kommun bostad"}
    first = api(client, "/api/search?" + urlencode(q))
    second = api(client, "/api/search?" + urlencode({**q, "page": 2}))
    assert first["page"] == 1 and second["page"] == 2 and len(second["hits"]) == 10
    assert not {h["passage_id"] for h in first["hits"]} & {h["passage_id"] for h in second["hits"]}
    html = client.get("/?" + urlencode({**q, "page": 2})).text
    assert '<ol class="hits" start="11">' in html and 'rel="prev"' in html and 'rel="next"' in html


def test_ready_searches_find_cases_and_good_examples(client):
    from textmine.webview import READY_SEARCHES

    html = client.get("/").text
    links = [unescape(u) for u in re.findall(r'class="card ready-search" href="([^"]+)"', html)]
    assert len(links) == 2
    cases = api(client, links[0].replace("/?", "/api/search?"))
    assert sum(h["doc_type"] == "court_ruling" for h in cases["hits"]) >= 5  # rulings tell cases
    examples = api(client, links[1].replace("/?", "/api/search?"))
    assert {"agreement", "county_report"} <= {h["doc_type"] for h in examples["hits"]}
    assert READY_SEARCHES[1]["title"] == "Goda exempel och överenskommelser"


def test_document_page_marks_the_hit_on_its_page(client):
    hit = api(client, "/api/search?" + urlencode({"q": PRECEDENT_QUERY}))["hits"][0]
    url = f"/documents/{hit['doc_id']}?page={hit['page']}&passage={hit['passage_id']}&q={quote(PRECEDENT_QUERY)}"
    r = client.get(url)
    assert r.status_code == 200
    html = r.text
    assert html.count('<span id="passage"></span>') == 1
    # the marked blocks are the hit's text, on the hit's page
    marked = re.findall(r'<(?:p|h3|blockquote|div) id="b(\d+)-\d+" class="[^"]*in-hit[^"]*">(.*?)</(?:p|h3|blockquote|div)>', html, re.S)
    assert marked and {int(p) for p, _ in marked} <= set(range(hit["page"], hit["page_end"] + 1))
    text = " ".join(unescape(re.sub(r"<[^>]+>", "", body)) for _, body in marked)
    assert " ".join(hit["text"].split())[:60] in " ".join(text.split())
    assert '<section class="page current-page" id="page-%d"' % hit["page"] in html
    assert "<mark class=\"" in html and "Innehåll" in html and "Liknande avsnitt" in html
    if hit["path"].endswith(".pdf"):
        assert f'/documents/{hit["doc_id"]}/pages/{hit["page"]}.png' in html
        assert f'/documents/{hit["doc_id"]}/file#page={hit["page"]}' in html


def test_document_page_contents_entities_and_json_twin(client):
    doc = doc_by_name(client, "kr-stockholm-2019-8812-18.pdf")
    html = client.get(f"/documents/{doc['id']}").text
    assert "Kammarrätten i Stockholm" in html and "Nämns i dokumentet" in html
    assert '/entities/PROVISION/2001%3A453%204%20kap.%201%20%C2%A7' in html  # 4 kap. 1 § SoL, linked
    twin = api(client, f"/api/documents/{doc['id']}")
    assert twin["id"] == doc["id"] and twin["n_pages"] == doc["n_pages"] and twin["pages"][0]["blocks"]
    one = api(client, f"/api/documents/{doc['id']}?page=1")
    assert [p["number"] for p in one["pages"]] == [1]


def test_json_twins_equal_the_cli(client, corpus_home):
    doc = doc_by_name(client, "hfd-2023-ref-31.pdf")
    cli_show = json.loads(run_cli("show", str(doc["id"]), "--home", str(corpus_home), "--json", check=True).stdout)
    assert api(client, f"/api/documents/{doc['id']}") == cli_show
    cli_entities = json.loads(run_cli("entities", "--label", "COURT", "--home", str(corpus_home), "--json", check=True).stdout)
    assert api(client, "/api/entities?label=COURT") == cli_entities
    cli_search = json.loads(run_cli("search", "hyra deposition", "--home", str(corpus_home), "--json", check=True).stdout)
    web = api(client, "/api/search?q=hyra+deposition")
    assert [h["passage_id"] for h in web["hits"]] == [h["passage_id"] for h in cli_search["hits"]]
    assert {k for k in cli_search} <= set(web)
    cli_docs = json.loads(run_cli("docs", "--home", str(corpus_home), "--json", check=True).stdout)
    assert api(client, "/api/documents") == cli_docs


def test_page_image_and_original_file(client):
    doc = doc_by_name(client, "hfd-2023-ref-31.pdf")
    r = client.get(f"/documents/{doc['id']}/pages/2.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    image = Image.open(io.BytesIO(r.content))
    assert image.width == 1000 and image.height > image.width  # a portrait A4 page
    # mostly white with dark text: the page was really rendered
    import numpy as np

    grey = np.asarray(image.convert("L"))
    assert 0.002 < float((grey < 100).mean()) < 0.3
    f = client.get(f"/documents/{doc['id']}/file")
    assert f.status_code == 200 and f.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(f.content).hexdigest() == doc["sha256"]
    assert client.get(f"/documents/{doc['id']}/pages/{doc['n_pages'] + 1}.png").status_code == 404
    word = doc_by_name(client, "fr-malmo-2021-6543-21.docx")
    r = client.get(f"/documents/{word['id']}/pages/1.png")
    assert r.status_code == 404 and "PDF" in r.text
    assert client.get(f"/documents/{word['id']}/file").status_code == 200


def test_entity_page_lists_documents_passages_and_counts(client):
    url = "/entities/PROVISION/" + quote("2001:453 4 kap. 1 §", safe="")
    html = client.get(url).text
    assert "4 kap. 1 § SoL" in html and "Per år" in html and "Per dokumenttyp" in html
    data = api(client, "/api" + url)
    assert data["name"] == "4 kap. 1 § SoL" and data["documents"] and data["passages"]
    names = {Path(d["path"]).name for d in data["documents"]}
    assert {"kr-stockholm-2019-8812-18.pdf", "hfd-2023-ref-31.pdf"} <= names
    assert sum(data["by_type"].values()) == len(data["documents"]) == sum(data["by_year"].values())
    # every listed document really mentions the provision
    for d in data["documents"][:5]:
        doc = api(client, f"/api/documents/{d['id']}")
        assert any(e["norm"] == "2001:453 4 kap. 1 §" for e in doc["entities"])
    assert '<mark class="term">' in html  # the mention is marked in the passage snippets
    county = api(client, "/api/entities/LAN/18")
    assert county["name"] == "Örebro län" and county["documents"]
    assert "Hällefors" in client.get("/entities?label=KOMMUN").text


def test_csv_download_of_a_result_list(client):
    params = urlencode({"q": "hyra deposition", "type": "court_ruling"})
    r = client.get("/search.csv?" + params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    hits = api(client, "/api/search?" + params)["hits"]
    assert len(rows) >= len(hits) and [r["passage_id"] for r in rows[:10]] == [h["passage_id"] for h in hits]
    assert all(r["doc_type"] == "court_ruling" and r["url"].startswith("http") and int(r["page"]) >= 1 for r in rows)
    comma = client.get("/search.csv?" + params + "&sep=comma").content.decode("utf-8")
    assert next(csv.reader(io.StringIO(comma.lstrip("\ufeff"))))[:3] == ["rank", "title", "doc_type"]


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/api/search", "/api/documents/{doc_id}", "/api/entities", "/api/entities/{label}/{norm}"):
        assert path in spec["paths"], path


# --- safety ----------------------------------------------------------------------------------

ODD_QUERIES = ['"', '""', "(", ")", "NEAR(", "NEAR(a b", "*", "a*", "-", "AND", "OR NOT", "\x00", "a\x00b", "^", ":", "{}",
               "x" * 3000, "'; DROP TABLE passages; --", "<script>alert(1)</script>", "😀 🏠", "§§§", "\u202e\u200b", "%", "_"]


@pytest.mark.parametrize("query", ODD_QUERIES, ids=range(len(ODD_QUERIES)))
def test_odd_queries_never_fail(client, query):
    for path in ("/", "/api/search", "/search.csv"):
        r = client.get(path + "?" + urlencode({"q": query}))
        assert r.status_code in (200, 400), (path, query[:20], r.status_code, r.text[:200])
        if r.status_code == 400:
            assert r.text and "Traceback" not in r.text
    r = client.get("/?" + urlencode({"q": query}))
    assert "<script>alert" not in r.text


INVALID = [
    ("/?page=0", 400), ("/?page=abc", 400), ("/?page=999999", 400), ("/?mode=fuzzy&q=a", 400), ("/?year_from=abc&q=a", 400),
    ("/?year_from=2023&year_to=2020&q=a", 400), ("/?type=novel&q=a", 400), ("/?county=Narnia&q=a", 400),
    ("/?municipality=Atlantis&q=a", 400), ("/documents/abc", 400), ("/documents/0", 400), ("/documents/99999", 404),
    ("/documents/99999999999999999999999", 400), ("/documents/1?page=0", 400), ("/documents/1?page=9999", 404),
    ("/documents/1?passage=nope", 404), ("/documents/1/pages/0.png", 400), ("/documents/1/pages/x.png", 400),
    ("/entities/NOPE/x", 400), ("/entities/KOMMUN/9999", 404), ("/entities?label=nope", 400), ("/no/such/page", 404),
    ("/api/search", 400), ("/api/search?page=-1&q=a", 400), ("/api/documents/abc", 400), ("/api/documents/99999", 404),
    ("/api/entities?limit=-5", 400), ("/api/passages/nope/similar", 404), ("/search.csv?q=a&sep=tab", 400),
]


@pytest.mark.parametrize("url,status", INVALID, ids=[u for u, _ in INVALID])
def test_invalid_parameters_give_4xx_with_a_message(client, url, status):
    r = client.get(url)
    assert r.status_code == status, (r.status_code, r.text[:300])
    if url.startswith("/api") or ".csv" in url:  # machine-read routes answer in JSON
        assert r.json()["error"] and "\n" not in r.json()["error"]
    else:
        assert 'class="message"' in r.text and "Traceback" not in r.text


def test_passage_of_another_document_is_refused(client):
    hit = api(client, "/api/search?q=hyra")["hits"][0]
    other = next(d["id"] for d in api(client, "/api/documents") if d["id"] != hit["doc_id"])
    r = client.get(f"/documents/{other}?passage={hit['passage_id']}")
    assert r.status_code == 404 and "hör inte till" in r.text


TRAVERSAL = ["/documents/..%2F..%2Fetc%2Fpasswd", "/documents/1/pages/..%2F..%2F..%2Fetc%2Fpasswd.png",
             "/documents/1/file/..%2F..%2Fetc%2Fpasswd", "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd", "/static/../../etc/passwd",
             "/entities/KOMMUN/..%2F..%2F..%2Fetc%2Fpasswd", "/api/entities/LAW/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
             "/documents/%2e%2e/file", "/static/%2e%2e/%2e%2e/pyproject.toml"]


@pytest.mark.parametrize("url", TRAVERSAL)
def test_no_path_traversal(client, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
    assert "root:x:" not in r.text and "[project]" not in r.text


def test_document_text_is_escaped(tmp_path):
    """A document whose text is markup shows as text in every page that quotes it."""
    from fastapi.testclient import TestClient

    from textmine.app import create_app
    from textmine.server import WebState

    hostile = tmp_path / "docs" / "skadlig.txt"
    hostile.parent.mkdir()
    body = ('Granskning av <script>alert("x")</script> bistånd i Hällefors kommun. '
            'Socialnämnden <img src=x onerror=alert(1)> betalade hyran för en lägenhet i en annan kommun. ') * 12
    hostile.write_text("Rapport om <b>markup</b> & hyra\n\n" + body, encoding="utf-8")
    home = tmp_path / "home"
    run_cli("ingest", str(hostile.parent), "--home", str(home), "--quiet", check=True)
    c = TestClient(create_app(WebState(home)), raise_server_exceptions=False)
    search = c.get("/?q=hyra+l%C3%A4genhet")
    doc_id = c.get("/api/documents").json()[0]["id"]
    pages = [search.text, c.get(f"/documents/{doc_id}").text, c.get("/entities/KOMMUN/1863").text,
             c.get("/?q=" + quote('<script>alert("q")</script>')).text]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>markup</b>" not in html
    assert "&lt;script&gt;alert(" in pages[0] + pages[1]
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[1]


def test_serve_binds_to_localhost_by_default_and_reports_a_busy_port(corpus_home):
    help_text = run_cli("serve", "--help").stdout
    assert "127.0.0.1" in help_text and "--port" in help_text and "--home" in help_text
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("serve", "--home", str(corpus_home), "--port", str(port))
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in proc.stderr
    missing = run_cli("serve", "--home", "/nonexistent/store", "--port", "1")
    assert missing.returncode != 0 and missing.stderr.startswith("error:")


def test_concurrent_searches_agree_with_one_at_a_time(web_state):
    """Many requests at once (the web server's worker threads and its batching
    embedding thread) give the same results as one request at a time."""
    from concurrent.futures import ThreadPoolExecutor

    from textmine.index import lexical

    queries = ["hyra deposition", "försörjningsstöd annan kommun", "överenskommelse informationsöverföring", "barnfamiljer flytt",
               "skyddat boende", "sekretess samtycke", "bostadssökande hushåll", "prövningstillstånd kammarrätt"] * 3
    alone = {q: [h.passage_id for h in web_state.searcher().search(q).hits] for q in set(queries)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda q: (q, [h.passage_id for h in web_state.searcher().search(q).hits]), queries))
    for q, ids in together:
        assert ids == alone[q], q
    # the stemmer is shared: stems made in parallel equal stems made one by one
    words = sorted({w for q in queries for w in q.split()} | {"kommunernas", "bostäderna", "överenskommelserna"})
    expected = [lexical._stemmer.stemWord(w) for w in words]
    lexical.stem.cache_clear()
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lexical.stem, words * 20)) == expected * 20


def test_rulings_page_card_csv_and_json_twin(client, corpus_home):
    html = client.get("/rulings").text
    assert html.count("<tr data-doc=") == 17 and "Domar och beslut" in html
    only = client.get("/rulings?" + urlencode({"court_level": "kammarrätt", "outcome": "avslag"})).text
    rows = re.findall(r'<tr data-doc="(\d+)">', only)
    twin = api(client, "/api/rulings?" + urlencode({"court_level": "kammarrätt", "outcome": "avslag"}))
    assert rows and [int(r) for r in rows] == [c["doc_id"] for c in twin]
    assert all(c["court_level"] == "kammarrätt" and c["outcome"] == "avslag" for c in twin)
    cli = json.loads(run_cli("rulings", "--home", str(corpus_home), "--court-level", "kammarrätt", "--outcome", "avslag",
                             "--json", check=True).stdout)
    assert cli == twin
    csv_text = client.get("/rulings.csv?outcome=bifall").content.decode("utf-8").lstrip("\ufeff")
    table = list(csv.DictReader(io.StringIO(csv_text), delimiter=";"))
    assert table and {r["outcome"] for r in table} == {"bifall"}
    # the card on top of a ruling's page, with its appeal chain inside the store
    hfd = doc_by_name(client, "hfd-2023-ref-31.pdf")
    page = client.get(f"/documents/{hfd['id']}").text
    assert "Prejudikatkort" in page and "HFD 2023 ref. 31" in page and "återförvisat" in page
    assert "Överklagat avgörande i samlingen" in page
    assert client.get("/rulings?outcome=vinst").status_code == 400
    assert client.get("/api/rulings?year_from=abc").status_code == 400


def test_provision_page_lists_the_rulings_that_apply_it(client):
    html = client.get("/entities/PROVISION/" + quote("2001:453 4 kap. 1 §", safe="")).text
    shown = {int(x) for x in re.findall(r'<tr data-ruling="(\d+)">', html)}
    expected = {c["doc_id"] for c in api(client, "/api/rulings?" + urlencode({"provision": "2001:453 4 kap. 1 §"}))}
    assert shown and shown == expected and "Domar som tillämpar lagrummet" in html
