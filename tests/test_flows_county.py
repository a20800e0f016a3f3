"""The flows view and the county pages over the demo-corpus store: a flow of the fictional
world (corpus/sources/WORLD.md) with its passages, county pages with documents, examples
and the county-wide agreement with evidence, Swedish 4xx for bad input, and JSON twins
equal to the CLI's --json."""

from __future__ import annotations

import json
import re
import sys
from html import unescape
from urllib.parse import parse_qs, urlsplit

from conftest import ROOT, run_cli


def api(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    return r.json()


def cli_json(corpus_home, *args):
    return json.loads(run_cli(*args, "--home", str(corpus_home), "--json", check=True).stdout)


def test_a_world_flow_appears_with_its_passages(client):
    # F1 of the demo world: Södertälje (0181) -> Hällefors (1863)
    flows = api(client, "/api/flows?level=municipality")
    f1 = next(f for f in flows if (f["sender"], f["receiver"]) == ("0181", "1863"))
    assert f1["sender_name"] == "Södertälje" and f1["receiver_name"] == "Hällefors" and f1["count"] >= 3
    cases = api(client, "/api/flows/passages?level=municipality&sender=0181&receiver=1863")
    assert len(cases) == f1["count"] and {c["passage_id"] for c in cases} == set(f1["passages"])
    assert all(c["sender"] == "0181" and c["receiver"] == "1863" for c in cases)
    assert sum("Hällefors" in c["text"] for c in cases) >= 2
    # the page lists each passage with its title, page and a link into the document at that passage
    html = client.get("/flows/passages?level=municipality&sender=S%C3%B6dert%C3%A4lje&receiver=1863").text
    assert "Södertälje → Hällefors" in html
    links = [unescape(h) for h in re.findall(r'class="hit-link" href="([^"]+)"', html)]
    assert len(links) == len(cases)
    for link in links:
        parts = urlsplit(link)
        qs = parse_qs(parts.query)
        doc = api(client, parts.path.replace("/documents/", "/api/documents/"))
        passage = qs["passage"][0]
        assert any(c["passage_id"] == passage and c["page"] == int(qs["page"][0]) and c["document"] == doc["id"] for c in cases)


def test_flows_page_by_county_has_chart_table_and_links(client):
    html = client.get("/flows").text
    assert "<h1>Flöden: avsändande → mottagande</h1>" in html
    assert '<img class="chart" src="/flows.svg?level=county"' in html
    # Stockholms län -> Örebro län (F1, F2): a row with its count, linking to its passages and to the county pages
    row = re.search(r'<a href="/counties/01"[^>]*>Stockholms län</a></td>\s*<td>→</td>\s*<td><a href="/counties/18"[^>]*>Örebro län</a></td>\s*'
                    r'<td><a class="flow-link" href="([^"]+)">(\d+) avsnitt</a>', html)
    assert row, "the table has the flow Stockholms län -> Örebro län"
    qs = parse_qs(urlsplit(unescape(row.group(1))).query)
    assert qs == {"level": ["county"], "sender": ["01"], "receiver": ["18"]} and int(row.group(2)) >= 2
    svg = client.get("/flows.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content[:500]
    png = client.get("/flows.png?level=municipality")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'href="/flows"' in html and 'href="/counties"' in html  # the navigation


def test_flow_filters(client):
    everything = api(client, "/api/flows/passages?sender=01&receiver=18")
    narrowed = api(client, "/api/flows/passages?sender=01&receiver=18&year_from=2020&year_to=2020")
    assert narrowed and len(narrowed) < len(everything) and all(c["year"] == 2020 for c in narrowed)
    group = api(client, "/api/flows/passages?sender=01&receiver=18&target_group=nyanl%C3%A4nda")
    assert group and all("nyanlända" in c["target_groups"] for c in group)
    html = client.get("/flows?target_group=nyanl%C3%A4nda&year_from=2019").text
    assert '<option value="nyanlända" selected>' in html and 'value="2019"' in html


def test_json_twins_equal_the_cli(client, corpus_home):
    assert api(client, "/api/flows?level=county&target_group=nyanl%C3%A4nda") == cli_json(
        corpus_home, "cases", "--flows", "county", "--target-group", "nyanlända")
    assert api(client, "/api/flows/passages?sender=01&receiver=18&level=county") == cli_json(
        corpus_home, "cases", "--sender", "01", "--receiver", "Örebro län", "--level", "county")
    assert api(client, "/api/counties") == cli_json(corpus_home, "county")
    assert api(client, "/api/counties/18") == cli_json(corpus_home, "county", "Örebro")


def test_county_list_and_page(client):
    counties = api(client, "/api/counties")
    assert len(counties) == 21 and [c["code"] for c in counties][:3] == ["01", "03", "04"]
    html = client.get("/counties").text
    assert html.count('<tr data-county="') == 21 and '<a href="/counties/18">Örebro län</a>' in html

    o = api(client, "/api/counties/18")
    assert o["name"] == "Örebro län" and {m["name"] for m in o["municipalities"]} >= {"Hällefors", "Laxå", "Örebro"}
    titles = {d["title"] for d in o["documents"]}
    assert "Överenskommelse om samverkan vid flytt mellan kommunerna i Örebro län" in titles
    assert any("Hällefors" in (d["issuer"] or "") for d in o["documents"])
    # cases in: F1 Södertälje -> Hällefors, F2 Stockholm -> Ljusnarsberg; the flow in from Stockholms län
    assert {c["receiver"] for c in o["cases_in"]} >= {"1863", "1864"}
    assert any(f["sender"] == "01" for f in o["flows_in"])
    assert o["examples"] and all(e["county"] == "18" and e["state"] != "rejected" for e in o["examples"])
    # GP1: all 12 municipalities signed; the evidence names the agreement document and a page
    assert o["agreement"]["exists"]
    ev = o["agreement"]["evidence"]
    assert any(e["doc_type"] == "agreement" and "12 kommuner" in e["reason"] and e["page"] >= 1 for e in ev)
    assert sum(t["cases_in"] for t in o["timeline"]) <= len(o["cases_in"])
    page = client.get("/counties/%C3%96rebro").text  # a name works as well as a code
    assert "<h1>Örebro län" in page and "<strong>Ja</strong>" in page
    assert "Överenskommelse om samverkan vid flytt mellan kommunerna i Örebro län" in page
    assert o["examples"][0]["title"] in unescape(page)
    assert '/counties/18/timeline.svg' in page
    assert client.get("/counties/18/timeline.png").content[:4] == b"\x89PNG"


def test_no_county_wide_agreement_without_evidence(client):
    # Kronoberg has a bilateral agreement (Växjö-Lessebo, GP3), not a county-wide one;
    # Dalarna a county-wide routine of all 15 municipalities (GP2)
    kronoberg = api(client, "/api/counties/07")
    assert not kronoberg["agreement"]["exists"] and kronoberg["agreement"]["evidence"] == []
    assert "<strong>Inga belägg</strong>" in client.get("/counties/07").text
    dalarna = api(client, "/api/counties/Dalarna")
    assert dalarna["agreement"]["exists"]
    assert any("Länsgemensam rutin" in e["quote"] for e in dalarna["agreement"]["evidence"])


def test_bad_input_gives_swedish_4xx(client):
    r = client.get("/counties/99")
    assert r.status_code == 404 and "okänt län" in r.text and "<html" in r.text
    assert api(client, "/api/counties/Atlantis", 404)["error"].startswith("okänt län 'Atlantis'")
    assert client.get("/counties/99/timeline.svg").status_code == 404
    assert "okänd nivå" in api(client, "/api/flows?level=planet", 400)["error"]
    assert "årtal" in api(client, "/api/flows?year_from=tjugo", 400)["error"]
    assert "year_from är senare" in api(client, "/api/flows?year_from=2022&year_to=2020", 400)["error"]
    assert "okänd målgrupp" in api(client, "/api/flows?target_group=pensionärer", 400)["error"]
    assert "okänt län" in api(client, "/api/flows/passages?sender=99", 404)["error"]
    assert "okänd kommun" in api(client, "/api/flows/passages?sender=9999&level=municipality", 404)["error"]
    assert client.get("/flows/passages").status_code == 400
    for url in ("/flows?level=<script>", "/counties/%00", "/flows/passages?sender=" + "x" * 500):
        assert client.get(url).status_code in (400, 404), url


def test_cli_errors_are_one_line(corpus_home):
    for args in (("county", "99"), ("cases", "--sender", "Atlantis"), ("cases", "--flows", "county", "--year-from", "2022",
                                                                       "--year-to", "2020")):
        proc = run_cli(*args, "--home", str(corpus_home))
        assert proc.returncode == 1 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)
    assert run_cli("county", "--help").returncode == 0


def test_case_extraction_on_the_demo_world():
    """benchmarks/cases.py: both sides right for at least 75 % of the passages with a gold
    flow (81 % measured on 2026-12-04 and, on the adjudicated labels, 2026-12-05), and few
    wrong sides. The adjudication took the label off statistics and consequences passages,
    so 118 demo passages have a gold flow now, not 137."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import cases as bench

    out = bench.evaluate()
    assert out["with_gold"] >= 110
    assert out["both_right"] / out["with_gold"] >= 0.75
    assert out["sender"]["wrong"] + out["receiver"]["wrong"] <= 0.06 * out["with_gold"]
