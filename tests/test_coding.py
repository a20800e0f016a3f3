"""The coding workbench on real material: the starter codebook, codebook editing and
exchange (CSV, .qdc), coding whole passages and exact spans with undo, memos,
suggestions from the real embedder and FAISS index, quote attributions (demo corpus and
Statskontoret's report 2020:19), frequencies, co-occurrence and agreement on codings
whose figures are worked out by hand, exports (CSV, XLSX, REFI-QDA) with
pseudonymisation and re-import, charts, and the `textmine code` CLI.

Everything that writes works on copies of the session's demo store (`corpus_home` is
shared with the web tests, which must see no codings)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPORT, ROOT, real_corpus_or_skip, run_cli
from textmine import coding
from textmine.coding import CodingError
from textmine.errors import NotFound
from textmine.store import Store

XSD = ROOT / ".." / "shared" / "refi-qda" / "Project-mrt2019.xsd"
STARTER = "Bostadsmarknad och hyresvärdar"
PERSONNUMMER = re.compile(r"(?<![\d-])(?:19|20)?\d{6}[-+]\d{4}(?!\d)")
# what a passage about demanding housing searches elsewhere says
ELSEWHERE = re.compile(
    r"annan kommun|andra kommuner|utanför kommunen|utanför länet|hela landet|annan del av landet|långt från|"
    r"andra orter|annan ort", re.I)


# --- fixtures and helpers ---------------------------------------------------------------

def copy_home(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def home(corpus_home, tmp_path_factory) -> Path:
    """A private copy of the demo store: every write of this module goes to copies."""
    return copy_home(corpus_home, tmp_path_factory.mktemp("coding") / "home")


@pytest.fixture(scope="module")
def store(home):
    s = Store(home)
    yield s
    s.close()


@pytest.fixture(scope="module")
def embedder():
    from textmine.embed import Embedder

    return Embedder()


@pytest.fixture(scope="module")
def searcher(store, embedder):
    from textmine.search import Searcher

    return Searcher(store, embedder=embedder)


def doc_id_of(store: Store, filename: str) -> int:
    return next(d["id"] for d in store.list_documents() if Path(d["path"]).name == filename)


def text_passages(store: Store, filename: str) -> list[dict]:
    return [p for p in store.document_passages(doc_id_of(store, filename)) if p["kind"] == "text" and len(p["text"]) > 60]


def quote_by_respondent(store: Store, words: str) -> dict:
    rows = [q for q in store.quotes() if q["respondent"] and words in q["respondent"]]
    assert len(rows) == 1, (words, [q["respondent"] for q in rows])
    return rows[0]


def live(store: Store, coder_name: str) -> list[dict]:
    return coding.codings(store, coder_name=coder_name)


def tree(store: Store) -> list[tuple]:
    """The codebook in tree order, compared by names (ids and guids differ between stores)."""
    flat = coding.flat_codebook(store)
    names = {c.id: c.name for c in flat}
    return [(c.name, c.depth, names.get(c.parent), c.description, c.inclusion, c.exclusion, c.examples, c.color)
            for c in flat]


def one_line_error(proc) -> str:
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


# --- 1. the starter codebook ------------------------------------------------------------

def test_new_store_has_the_starter_codebook(tmp_path):
    with Store(tmp_path / "new") as s:
        flat = coding.flat_codebook(s)
        assert len(flat) == 44 and len({c.name for c in flat}) == 44
        by_name = {c.name: c for c in flat}
        assert by_name["Bostadsbrist"].parent == by_name[STARTER].id and by_name["Bostadsbrist"].depth == 1
        assert by_name["Sekretess och samtycke"].parent == by_name["Information, sekretess och samtycke"].id
        assert by_name["Krav på bostadssökande utanför kommunen"].depth >= 1
        assert {c.depth for c in flat} >= {0, 1}
        roots = coding.codebook(s)
        assert 3 <= len(roots) < 44 and all(r.children for r in roots[:3])
        for c in flat:
            assert c.description and c.inclusion and c.exclusion and c.examples, c.name
            assert c.guid and re.fullmatch(r"#[0-9A-Fa-f]{6}", c.color or ""), c.name
        # the JSON form lists examples one per line of the CSV
        js = next(r for r in (c.to_json() for c in roots) if r["name"] == STARTER)
        bb = next(ch for ch in js["children"] if ch["name"] == "Bostadsbrist")
        assert len(bb["examples"]) == 2 and all(e.startswith("(Illustrativt exempel)") for e in bb["examples"])
        assert s.meta_get("codebook_seeded") == "1"


def test_deleted_codes_do_not_come_back(tmp_path):
    with Store(tmp_path / "s") as s:
        coding.codebook(s)
        parent = s.code(STARTER)
        children = [c["name"] for c in s.codes() if c["parent"] == parent["id"]]
        s.delete_code(s.code("Bostadsbrist")["id"])
        s.delete_code(parent["id"])  # its children move up to the top level
    with Store(tmp_path / "s") as s:
        names = {c.name: c for c in coding.flat_codebook(s)}
        assert len(names) == 42 and "Bostadsbrist" not in names and STARTER not in names
        for child in set(children) - {"Bostadsbrist"}:
            assert names[child].parent is None and names[child].depth == 0
        for c in s.codes():
            s.delete_code(c["id"])
    with Store(tmp_path / "s") as s:
        assert coding.codebook(s) == [] and coding.flat_codebook(s) == []
        assert coding.ensure_starter_codebook(s) == 0


# --- 2. editing and exchanging the codebook -----------------------------------------------

def test_add_edit_move_and_delete_codes(tmp_path):
    with Store(tmp_path / "s") as s:
        coding.add_code(s, "  Hyresvärdars  annonser ", parent="Privata hyresvärdar och bostadsförmedling",
                        description="Annonser riktade till socialtjänsten", examples="a\nb")
        c = s.code("Hyresvärdars annonser")  # white space is tidied
        assert c["parent"] == s.code("Privata hyresvärdar och bostadsförmedling")["id"] and c["examples"] == "a\nb"
        with pytest.raises(CodingError, match="already"):
            coding.add_code(s, "hyresvärdars annonser")
        with pytest.raises(CodingError):
            coding.add_code(s, "   ")
        with pytest.raises(NotFound):
            coding.add_code(s, "Ny", parent="Finns inte")

        coding.update_code(s, "Hyresvärdars annonser", name="Annonser från hyresvärdar", inclusion="När ...")
        renamed = s.code("Annonser från hyresvärdar")
        assert renamed["id"] == c["id"] and renamed["inclusion"] == "När ..." and renamed["description"] == c["description"]
        with pytest.raises(CodingError, match="taken"):
            coding.update_code(s, "Annonser från hyresvärdar", name="Bostadsbrist")

        coding.update_code(s, "Annonser från hyresvärdar", parent="Bostadsbrist")  # move
        assert s.code("Annonser från hyresvärdar")["parent"] == s.code("Bostadsbrist")["id"]
        # a code cannot move under itself or under its own descendant (a grandchild here)
        with pytest.raises(CodingError, match="own ancestor"):
            coding.update_code(s, STARTER, parent="Annonser från hyresvärdar")
        with pytest.raises(CodingError, match="own ancestor"):
            coding.update_code(s, "Bostadsbrist", parent="Bostadsbrist")
        assert s.code(STARTER)["parent"] is None
        coding.update_code(s, "Annonser från hyresvärdar", parent="")  # to the top level
        assert s.code("Annonser från hyresvärdar")["parent"] is None

        s.delete_code(s.code("Bostadsbrist")["id"])
        assert "Bostadsbrist" not in {c.name for c in coding.flat_codebook(s)}
        assert len(coding.flat_codebook(s)) == 44  # 44 + 1 added - 1 deleted


def _edited_codebook(s: Store) -> None:
    coding.codebook(s)
    coding.add_code(s, "Annonser, hyresvärdar", parent="Bostadsbrist", description='Rad ett\n"citerad" rad två',
                    inclusion="Annonser riktade till socialtjänsten.", exclusion="Vanliga bostadsannonser.",
                    examples="”Ring oss om era klienter.”\nEtt andra exempel", color="#123456")
    coding.update_code(s, "Tillfälliga och otillräckliga boenden", name="Tillfälliga boenden", parent="")
    coding.update_code(s, "Sekretess och samtycke", parent="Annonser, hyresvärdar")
    s.delete_code(s.code("Kontrakt som löper ut")["id"])


def test_codebook_csv_round_trip_into_an_empty_store(tmp_path):
    from textmine.coding_export import export, import_codebook_file

    with Store(tmp_path / "a") as a:
        _edited_codebook(a)
        result = export(a, "codebook-csv", tmp_path / "codebook.csv")
        assert result["codes"] == 44
        expected = tree(a)
    text = (tmp_path / "codebook.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(coding.CODEBOOK_COLUMNS)
    with Store(tmp_path / "b") as b:  # empty: nothing seeded before the import
        assert import_codebook_file(b, tmp_path / "codebook.csv") == 44
        assert tree(b) == expected
        # importing again updates by name, never doubles
        assert import_codebook_file(b, tmp_path / "codebook.csv") == 44
        assert len(b.codes()) == 44 and tree(b) == expected
    # a semicolon-separated file (Swedish Excel) reads as well
    rows = list(csv.reader(io.StringIO(text)))
    semi = io.StringIO()
    csv.writer(semi, delimiter=";").writerows(rows)
    with Store(tmp_path / "c") as c:
        c.meta_set("codebook_seeded", "1")
        assert coding.import_codebook_rows(c, coding.read_codebook_csv("\ufeff" + semi.getvalue())) == 44
        assert tree(c) == expected


def test_qdc_round_trip_keeps_notes_and_guids(tmp_path):
    from textmine import qda
    from textmine.coding_export import export, import_codebook_file

    with Store(tmp_path / "a") as a:
        _edited_codebook(a)
        export(a, "qdc", tmp_path / "codebook.qdc")
        expected, guids = tree(a), {c["name"]: c["guid"] for c in a.codes()}
    # REFI-QDA has one description: the notes travel in it under headings
    codes = {c.name: c for c in qda.iter_codes(qda.read_qdc(tmp_path / "codebook.qdc"))}
    desc = codes["Annonser, hyresvärdar"].description
    assert "Inkludera:\nAnnonser riktade till socialtjänsten." in desc and "Exkludera:\n" in desc and "Exempel:\n" in desc
    assert codes["Annonser, hyresvärdar"].color == "#123456"
    assert [ch.name for ch in codes["Annonser, hyresvärdar"].children] == ["Sekretess och samtycke"]
    with Store(tmp_path / "b") as b:
        assert import_codebook_file(b, tmp_path / "codebook.qdc") == 44
        assert tree(b) == expected
        assert {c["name"]: c["guid"] for c in b.codes()} == guids


@pytest.mark.parametrize("text, message", [
    ("Bostadsbrist,Bostadsmarknad och hyresvärdar,Brist på bostäder\n", "header"),
    ("", "header"),
    ("name,parent\nNy kod,Finns inte i boken\n", "Finns inte i boken"),
    ("name,parent\nA,B\nB,C\nC,A\nD,\n", "cycle"),
    ("name,parent\nA,A\n", "cycle"),
    ("name,parent,description\nOk,,x\n,,tomt namn\n", "line 3"),
])
def test_bad_codebook_csv_is_refused_and_nothing_is_written(tmp_path, text, message):
    with Store(tmp_path / "s") as s:
        before = tree(s)
        with pytest.raises(CodingError, match=message):
            coding.import_codebook_rows(s, coding.read_codebook_csv(text))
        assert tree(s) == before


def test_codebook_csv_cannot_move_a_code_under_its_descendant(tmp_path):
    """Together with the codes already stored: Bostadsbrist is a child of the starter
    root, so the root cannot become Bostadsbrist's child (the codes would drop out of
    the tree)."""
    with Store(tmp_path / "s") as s:
        before = tree(s)
        with pytest.raises(CodingError, match="cycle"):
            coding.import_codebook_rows(s, coding.read_codebook_csv(f"name,parent\n{STARTER},Bostadsbrist\n"))
        assert tree(s) == before and len(coding.flat_codebook(s)) == len(s.codes()) == 44


# --- 3. coding ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ruling_passage(store) -> dict:
    """The Kammarrätten ruling's first passage: parties with a personnummer."""
    p = text_passages(store, "kr-stockholm-2019-8812-18.pdf")[0]
    assert PERSONNUMMER.search(p["text"]) and "KLAGANDE" in p["text"]
    return p


def test_assign_whole_passage_and_exact_span(store, ruling_passage):
    pid, text = ruling_passage["passage_id"], ruling_passage["text"]
    [whole] = coding.assign(store, "Spankodare", "Rättslig bedömning och tillsyn", pid)
    phrase = "ÖVERKLAGAT AVGÖRANDE"
    start = text.index(phrase)
    [span] = coding.assign(store, "Spankodare", "Rättslig bedömning och tillsyn", pid, start, start + len(phrase))
    rows = {r["id"]: r for r in live(store, "Spankodare")}
    assert rows[whole]["text"] == text and rows[whole]["start"] is None and rows[whole]["end"] is None
    assert rows[span]["text"] == text[start:start + len(phrase)] == phrase
    assert (rows[span]["start"], rows[span]["end"]) == (start, start + len(phrase))
    assert rows[span]["title"] and rows[span]["page_start"] == 1 and rows[span]["doc_type"] == "court_ruling"
    j = coding.coding_json(rows[span])
    assert j["code"] == "Rättslig bedömning och tillsyn" and j["coder"] == "Spankodare" and j["in_store"]
    # the same coding twice is not doubled
    assert coding.assign(store, "Spankodare", "Rättslig bedömning och tillsyn", pid) == []
    assert coding.assign(store, "Spankodare", "Rättslig bedömning och tillsyn", pid, start, start + len(phrase)) == []
    assert len(live(store, "Spankodare")) == 2
    # the same span by another coder is that coder's own coding
    assert len(coding.assign(store, "Spankodare 2", "Rättslig bedömning och tillsyn", pid, start, start + len(phrase))) == 1


def test_bad_spans_and_targets_are_refused(store, ruling_passage):
    pid, text = ruling_passage["passage_id"], ruling_passage["text"]
    n = len(text)
    blank = text.index("\n")
    for start, end, message in [
        (-1, 5, "outside"), (5, 5, "outside"), (10, 5, "outside"), (0, n + 1, "outside"), (n, n + 3, "outside"),
        (blank, blank + 1, "white space"), (5, None, "both"), (None, 5, "both"),
    ]:
        with pytest.raises(CodingError, match=message):
            coding.assign(store, "Felkodare", "Bostadsbrist", pid, start, end)
    with pytest.raises(NotFound):
        coding.assign(store, "Felkodare", "Ingen sådan kod", pid)
    with pytest.raises(NotFound):
        coding.assign(store, "Felkodare", "Bostadsbrist", "00000000-00000000")
    with pytest.raises(CodingError):
        coding.assign(store, "   ", "Bostadsbrist", pid)
    assert live(store, "Felkodare") == []
    assert coding.assign(store, "Felkodare", "Bostadsbrist", pid, 0, n)  # the whole text as a span is fine


def test_bulk_coding_from_search_results_is_one_undo_step(store, searcher):
    hits = searcher.search("krav att söka bostad i andra kommuner").hits
    pids = [h.passage_id for h in hits]
    assert len(pids) == 10
    # the search finds what the code is about
    assert sum(bool(ELSEWHERE.search(h.text) or "söka bostad" in h.text) for h in hits) >= 5
    [before] = coding.assign(store, "Bulk", "Bostadsbrist", pids[0])
    [already] = coding.assign(store, "Bulk", "Krav på bostadssökande utanför kommunen", pids[1])
    added = coding.assign_bulk(store, "Bulk", "Krav på bostadssökande utanför kommunen", pids + pids[:3])
    assert len(added) == len(set(pids)) - 1  # the repeated ids and the existing coding are not doubled
    rows = coding.codings(store, coder_name="Bulk", code_name="Krav på bostadssökande utanför kommunen")
    assert sorted(r["passage_id"] for r in rows) == sorted(set(pids))
    assert all(r["text"] == store.passage_by_id(r["passage_id"])["text"] for r in rows)
    done = coding.undo(store, "Bulk")
    assert done["kind"] == "assign" and sorted(done["codings"]) == sorted(added)
    left = {r["id"] for r in live(store, "Bulk")}
    assert left == {before, already}
    with pytest.raises(CodingError):
        coding.assign_bulk(store, "Bulk", "Bostadsbrist", [])


def test_remove_and_undo_restores(store):
    p1, p2 = text_passages(store, "lst-orebro-2022-rapport.pdf")[:2]
    ids = coding.assign_bulk(store, "Rita", "Kostnader för försörjningsstöd", [p1["passage_id"], p2["passage_id"]])
    assert coding.remove(store, "Rita", [ids[0]]) == [ids[0]]
    assert {r["id"] for r in live(store, "Rita")} == {ids[1]}
    assert coding.undo(store, "Rita") == {"kind": "remove", "codings": [ids[0]]}
    assert {r["id"] for r in live(store, "Rita")} == set(ids)  # the same codings are back
    assert coding.undo(store, "Rita")["kind"] == "assign"
    assert live(store, "Rita") == []
    with pytest.raises(CodingError, match="nothing to undo"):
        coding.undo(store, "Rita")
    with pytest.raises(NotFound):
        coding.undo(store, "Ingen kodare med detta namn")


def test_a_coder_removes_only_own_codings(store):
    p = text_passages(store, "lst-orebro-2022-rapport.pdf")[3]["passage_id"]
    [mine] = coding.assign(store, "Ägare", "Bostadsbrist", p)
    [theirs] = coding.assign(store, "Annan", "Bostadsbrist", p)
    with pytest.raises(NotFound):
        coding.remove(store, "Annan", [mine])
    assert [r["id"] for r in live(store, "Ägare")] == [mine]
    assert coding.remove(store, "Annan", [mine, theirs]) == [theirs]
    assert [r["id"] for r in live(store, "Ägare")] == [mine] and live(store, "Annan") == []
    # and the other coder's undo does not touch mine
    assert coding.undo(store, "Annan")["kind"] == "remove"
    assert [r["id"] for r in live(store, "Ägare")] == [mine]


def test_memos_on_code_passage_and_document(store, ruling_passage):
    pid = ruling_passage["passage_id"]
    doc = ruling_passage["doc_id"]
    code = store.code("Rättslig bedömning och tillsyn")
    coding.add_memo(store, "code", "Rättslig bedömning och tillsyn", "  Gäller också JO-beslut. ", "Memoskrivare")
    coding.add_memo(store, "passage", pid, "Parterna anges med initialer.", "Memoskrivare")
    coding.add_memo(store, "document", "kr-stockholm-2019-8812-18.pdf", "Central dom.")
    [m] = store.memos("code", str(code["id"]))
    assert m["text"] == "Gäller också JO-beslut." and m["coder_name"] == "Memoskrivare"
    assert [m["text"] for m in store.memos("passage", pid)] == ["Parterna anges med initialer."]
    [d] = store.memos("document", str(doc))
    assert d["text"] == "Central dom." and d["coder"] is None
    with pytest.raises(CodingError, match="not 'avsnitt'"):
        coding.add_memo(store, "avsnitt", pid, "x")
    with pytest.raises(CodingError, match="empty"):
        coding.add_memo(store, "passage", pid, "  \n ")
    with pytest.raises(NotFound):
        coding.add_memo(store, "passage", "00000000-00000000", "x")
    with pytest.raises(NotFound):
        coding.add_memo(store, "document", "9999", "x")
    with pytest.raises(NotFound):
        coding.add_memo(store, "code", "Ingen sådan kod", "x")


# --- 4. suggestions ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def sugg(corpus_home, tmp_path_factory, embedder):
    """Its own copy, so codings of other tests do not move the codes' prototypes."""
    from textmine.search import Searcher

    s = Store(copy_home(corpus_home, tmp_path_factory.mktemp("sugg") / "home"))
    yield Searcher(s, embedder=embedder)
    s.close()


CODE = "Krav på bostadssökande utanför kommunen"


def test_suggestions_for_a_code_are_about_it(sugg):
    out = coding.suggest_for_code(sugg.store, sugg.embedder, sugg.index, CODE)
    assert len(out) == 10 and all(s.code == CODE for s in out)
    assert [s.score for s in out] == sorted((s.score for s in out), reverse=True)
    about = [s for s in out if ELSEWHERE.search(s.text)]
    assert len(about) >= 7, [" ".join(s.text.split())[:100] for s in out]
    assert all(sugg.store.passage_by_id(s.passage_id)["kind"] != "footnotes" for s in out)
    assert all(s.title and s.page and s.document for s in out)


def test_coded_and_rejected_passages_are_not_suggested_again(sugg):
    s = sugg.store
    first = coding.suggest_for_code(s, sugg.embedder, sugg.index, CODE)
    coding.assign(s, "Förslagskodare", CODE, first[0].passage_id)
    coding.decide(s, "Förslagskodare", CODE, first[1].passage_id, "accept")
    coding.decide(s, "Förslagskodare", CODE, first[2].passage_id, "reject")
    gone = {first[0].passage_id, first[1].passage_id, first[2].passage_id}
    assert {r["passage_id"] for r in live(s, "Förslagskodare")} == gone - {first[2].passage_id}
    again = coding.suggest_for_code(s, sugg.embedder, sugg.index, CODE, coder_name="Förslagskodare")
    assert len(again) == 10 and not gone & {x.passage_id for x in again}
    # the rest of the old list is still there: the coded examples only sharpen the code
    assert len({x.passage_id for x in first[3:]} & {x.passage_id for x in again}) >= 4
    assert sum(bool(ELSEWHERE.search(x.text)) for x in again) >= 7
    with pytest.raises(CodingError):
        coding.decide(s, "Förslagskodare", CODE, first[3].passage_id, "maybe")


def test_suggested_codes_for_a_passage_about_secrecy(sugg):
    s = sugg.store
    hit = next(h for h in sugg.search("sekretess samtycke informationsöverföring vid flytt").hits
               if "ekretess" in h.text and s.passage_by_id(h.passage_id)["kind"] == "text")
    out = coding.suggest_for_passage(s, sugg.embedder, sugg.index, hit.passage_id, k=5)
    names = [x.code for x in out]
    assert len(names) == 5 and len(set(names)) == 5
    assert any("sekretess" in n.lower() for n in names[:2]), names
    top = next(n for n in names if "sekretess" in n.lower())
    coding.decide(s, "Sekretesskodare", top, hit.passage_id, "reject")
    after = [x.code for x in coding.suggest_for_passage(s, sugg.embedder, sugg.index, hit.passage_id,
                                                        coder_name="Sekretesskodare", k=5)]
    assert top not in after and any("sekretess" in n.lower() for n in after[:3]), after
    other = next(n for n in after if "sekretess" in n.lower())
    coding.assign(s, "Sekretesskodare", other, hit.passage_id)
    last = [x.code for x in coding.suggest_for_passage(s, sugg.embedder, sugg.index, hit.passage_id,
                                                       coder_name="Sekretesskodare", k=44)]
    assert top not in last and other not in last and len(last) == 42


# --- 5. quotes ---------------------------------------------------------------------------

def test_every_quote_passage_has_an_attribution(store):
    quote_ids = {r[0] for r in store.db.execute("SELECT passage_id FROM passages WHERE kind='quote'")}
    assert len(quote_ids) >= 30
    assert {q["passage_id"] for q in store.quotes()} == quote_ids
    attributed = [q for q in store.quotes() if q["respondent"]]
    assert len(attributed) >= len(quote_ids) - 2


def test_demo_quote_attributions(store):
    q = quote_by_respondent(store, "enhetschef inom socialtjänsten i en större avsändande kommun")
    assert "i en större avsändande kommun" in q["footnotes"]
    assert (q["source"], q["size"], q["role"], q["organisation"]) == ("interview", "larger", "sending", "municipality")
    assert q["text"].startswith('"Vi tänkte inte på det')
    assert q["passage_id"] in {r["passage_id"] for r in store.quotes(size="larger", role="sending")}
    assert all(r["size"] == "larger" and r["role"] == "sending" for r in store.quotes(size="larger", role="sending"))

    person = quote_by_respondent(store, "en person som flyttat")
    assert person["organisation"] == "individual" and person["source"] == "interview"
    assert {r["passage_id"] for r in store.quotes(organisation="individual")} >= {person["passage_id"]}

    # "i länet" in a county board's report is the report's own county
    here = quote_by_respondent(store, "socialsekreterare på vuxenenheten i en större kommun i länet")
    assert here["doc_type"] == "county_report" and here["county"] == "20"
    assert (here["region"], here["size"], here["organisation"]) == ("20", "larger", "municipality")
    # a county named in the footnote wins over the report's county
    named = quote_by_respondent(store, "i östra Värmland")
    assert named["county"] == "05" and named["region"] == "17" and named["role"] == "receiving"
    # municipal staff in a municipality's own review
    staff = [q for q in store.quotes() if q["doc_type"] == "municipal_review" and q["respondent"] == "socialsekreterare"]
    assert staff and all(q["organisation"] == "municipality" for q in staff)


@pytest.mark.parametrize("note, county, expected", [
    ("Intervju med enhetschef inom socialtjänsten i en större avsändande kommun, december 2022.", None,
     dict(source="interview", respondent="enhetschef inom socialtjänsten i en större avsändande kommun",
          size="larger", role="sending", organisation="municipality", region=None)),
    ("Fokusgrupp med socialsekreterare i en mellanstor mottagande kommun i länet, mars 2023.", "07",
     dict(source="focus_group", size="medium", role="receiving", organisation="municipality", region="07")),
    ("Intervju med en företrädare för Länsstyrelsen i Dalarnas län, maj 2022.", None,
     dict(organisation="county_board", region="20", size=None)),
    ("Intervju med företrädare för Boverket.", None, dict(respondent="företrädare för Boverket", organisation="agency")),
    ("Intervju med företrädare för Socialstyrelsen, mars 2020. Se även avsnitt 3.", None,
     dict(respondent="företrädare för Socialstyrelsen", organisation="agency")),
    ("Samtal med en person som flyttat till Lessebo, december 2022.", None,
     dict(source="conversation", organisation="individual")),
    ("Intervju med en hyresgäst i Filipstad, 2021.", None, dict(organisation="individual")),
    ("Intervju med handläggare inom ekonomiskt bistånd i en storstadskommun, juni 2023.", None,
     dict(size="larger", organisation="municipality")),
    ("Intervju med enhetschef i en liten kommun i Värmland.", None, dict(size="smaller", region="17")),
    ("Telefonintervju med socialchef i Hallstahammars kommun, 2022-03-01.", None,
     dict(source="interview", respondent="socialchef i Hallstahammars kommun", organisation="municipality")),
    ("Enkätsvar från socialchef i en mindre kommun.", None,
     dict(source="survey", respondent="socialchef i en mindre kommun", size="smaller")),
    ("Intervju med företrädare för en privat hyresvärd.", None, dict(organisation="other")),
    ("En företrädare för en kommun i Stockholms län", None,
     dict(source="lead_in", organisation="municipality", region="01", size=None, role=None)),
])
def test_parse_attribution(note, county, expected):
    from textmine.quotes import parse_attribution

    att = parse_attribution("p", note, county)
    got = {k: getattr(att, k) for k in expected}
    assert got == expected


def test_quote_attributions_from_lead_in_and_ibid():
    from textmine.quotes import quote_attributions

    def p(pid, kind, text, notes=None):
        return {"passage_id": pid, "kind": kind, "text": text, "footnotes": json.dumps(notes) if notes else None,
                "county": "05"}

    atts = quote_attributions([
        p("a", "text", "Flera kommuner beskriver problemet. En företrädare för en mindre kommun i länet uttrycker det så här:"),
        p("b", "quote", "”Vi har inga bostäder.”"),
        p("c", "quote", "”Folk vill inte flytta.”", ["[3] Intervju med socialchef i en större avsändande kommun, maj 2021."]),
        p("d", "text", "Samma person säger vidare att det är svårt."),
        p("e", "quote", "”Det är svårt.”", ["[4] Ibid."]),
        p("f", "text", "Något helt annat."),
        p("g", "quote", "”Utan källa.”"),
    ])
    by = {a.passage_id: a for a in atts}
    assert set(by) == {"b", "c", "e", "g"}
    assert (by["b"].source, by["b"].size, by["b"].region) == ("lead_in", "smaller", "05")
    assert (by["c"].size, by["c"].role) == ("larger", "sending")
    assert by["e"].respondent == by["c"].respondent and by["e"].role == "sending"
    assert by["g"].respondent is None and by["g"].organisation is None


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    """Statskontoret 2020:19 parsed and stored through the CLI. Passages and quote
    attributions are built as ingest builds them (indexing.chunk_documents); the
    embeddings, which quotes do not need, are left out to keep the run short."""
    real_corpus_or_skip()
    from textmine.indexing import chunk_documents

    home = tmp_path_factory.mktemp("real") / "home"
    run_cli("ingest", str(REPORT), "--home", str(home), "--quiet", "--no-index", check=True)
    s = Store(home)
    chunk_documents(s, [d["id"] for d in s.list_documents()])
    yield s
    s.close()


def test_real_report_quotes(real_store):
    quotes = real_store.quotes()
    quote_ids = {r[0] for r in real_store.db.execute("SELECT passage_id FROM passages WHERE kind='quote'")}
    assert len(quotes) >= 14 and {q["passage_id"] for q in quotes} == quote_ids
    assert sum(1 for q in quotes if q["respondent"]) >= 14
    ibid = [q for q in quotes if "Vi har uppfattat det som att folk inte vill flytta" in q["text"]]
    assert len(ibid) == 1
    q = ibid[0]
    assert "Ibid" in q["footnotes"]
    assert q["respondent"] == "en företrädare för en mindre kommun"
    assert (q["size"], q["organisation"], q["source"]) == ("smaller", "municipality", "interview")
    boverket = [q for q in quotes if q["respondent"] and "företrädare för Boverket" in q["respondent"]]
    assert len(boverket) == 1 and boverket[0]["organisation"] == "agency"
    assert "brist på bostäder" in boverket[0]["text"]
    receiving = real_store.quotes(role="receiving")
    assert len(receiving) >= 2 and all("mottagande" in q["respondent"] for q in receiving)
    assert {q["size"] for q in quotes} >= {"smaller", "larger", "medium"}


# --- 6. analysis -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def freq_passages(store) -> dict:
    """Codings of one coder whose counts per dimension are known by hand."""
    dalarna = text_passages(store, "lst-dalarna-2022-rapport.pdf")
    hallefors = text_passages(store, "hallefors-2020-oversyn.pdf")[0]
    goteborg = text_passages(store, "avsiktsforklaring-goteborg-bengtsfors-2022.txt")[0]
    c = "Frekvens"
    for p in (dalarna[0], dalarna[1], hallefors, goteborg):
        coding.assign(store, c, "Bostadsbrist", p["passage_id"])
    # two spans more in one passage: still one coded passage
    coding.assign(store, c, "Bostadsbrist", hallefors["passage_id"], 0, 20)
    coding.assign(store, c, "Bostadsbrist", hallefors["passage_id"], 30, 50)
    coding.assign(store, c, "Sekretess och samtycke", dalarna[0]["passage_id"], 0, 25)
    coding.assign(store, c, "Sekretess och samtycke", hallefors["passage_id"])
    # quotes with known respondents, and one passage that is no quote
    q = [quote_by_respondent(store, w) for w in (
        "enhetschef för ekonomiskt bistånd i en mindre kommun i västra Dalarna",
        "handläggare inom ekonomiskt bistånd i en medelstor mottagande kommun",
        "socialsekreterare på vuxenenheten i en större kommun i länet")]
    for p in q + [dalarna[2]]:
        coding.assign(store, "Citatkodare", "Kontrakt som löper ut", p["passage_id"])
    return {"dalarna": dalarna, "hallefors": hallefors, "goteborg": goteborg}


def test_frequencies_by_dimension(store, freq_passages):
    from textmine.analysis import frequencies

    t = frequencies(store, "doc_type", coder_name="Frekvens")
    assert t.codes == ["Bostadsbrist", "Sekretess och samtycke"]  # codebook order
    assert t.cells == {"Bostadsbrist": {"county_report": 2, "municipal_review": 1, "agreement": 1},
                       "Sekretess och samtycke": {"county_report": 1, "municipal_review": 1}}
    assert t.totals == {"Bostadsbrist": 4, "Sekretess och samtycke": 2}
    t = frequencies(store, "county", coder_name="Frekvens")
    assert t.cells["Bostadsbrist"] == {"Dalarnas län": 2, "Örebro län": 1, "Västra Götalands län": 1}
    assert t.cells["Sekretess och samtycke"] == {"Dalarnas län": 1, "Örebro län": 1}
    t = frequencies(store, "municipality_group", coder_name="Frekvens")
    assert t.cells["Bostadsbrist"] == {"okänd": 2, "C8 Landsbygdskommun": 1, "A1 Storstäder": 1}
    assert t.columns[-1] == "okänd"  # unknown last

    t = frequencies(store, "respondent_size", coder_name="Citatkodare")
    assert t.cells == {"Kontrakt som löper ut": {"smaller": 1, "medium": 1, "larger": 1, "okänd": 1}}
    t = frequencies(store, "respondent_role", coder_name="Citatkodare")
    assert t.cells == {"Kontrakt som löper ut": {"receiving": 1, "okänd": 3}}
    t = frequencies(store, "respondent", coder_name="Citatkodare")
    assert t.cells == {"Kontrakt som löper ut": {"municipality": 3, "not a quote": 1}}
    j = t.to_json()
    assert j["dimension"] == "respondent" and j["totals"] == {"Kontrakt som löper ut": 4}


def test_unknown_dimension_is_an_error(store, freq_passages):
    from textmine.analysis import AnalysisError, frequencies

    with pytest.raises(AnalysisError, match="unknown dimension 'kön'"):
        frequencies(store, "kön", coder_name="Frekvens")
    with pytest.raises(NotFound):
        frequencies(store, "county", coder_name="Ingen sådan kodare")


def test_cooccurrence(store, freq_passages):
    from textmine.analysis import cooccurrence

    t = cooccurrence(store, coder_name="Frekvens")
    assert t.codes == t.columns == ["Bostadsbrist", "Sekretess och samtycke"]
    assert t.cells["Bostadsbrist"]["Bostadsbrist"] == 4 and t.cells["Sekretess och samtycke"]["Sekretess och samtycke"] == 2
    assert t.cells["Bostadsbrist"]["Sekretess och samtycke"] == t.cells["Sekretess och samtycke"]["Bostadsbrist"] == 2
    whole = cooccurrence(store)  # every coder
    for a in whole.codes:
        assert whole.cells[a][a] == len({r["passage_id"] for r in store.codings() if r["code_name"] == a})
        for b in whole.codes:
            assert whole.cells[a][b] == whole.cells[b][a] <= min(whole.cells[a][a], whole.cells[b][b])


@pytest.fixture(scope="module")
def agreement_units(store) -> list[str]:
    """10 passages both coders coded. X = Sekretess och samtycke: A on units 0-5 (6),
    B on 2-6 (5), both on 2-5 (4); Y = Bostadsbrist on all 10 by both; an 11th passage
    only A coded is no unit."""
    units = [p["passage_id"] for p in text_passages(store, "lst-kronoberg-2023-rapport.pdf")[:11]]
    assert len(units) == 11
    a, b, x, y = "Kodare A", "Kodare B", "Sekretess och samtycke", "Bostadsbrist"
    coding.assign_bulk(store, a, y, units[:10])
    coding.assign_bulk(store, b, y, units[:10])
    coding.assign_bulk(store, a, x, units[0:6] + [units[10]])
    for pid in units[2:7]:
        coding.assign(store, b, x, pid, 0, 12)  # spans count as applying the code
    return units


def test_agreement_hand_computed(store, agreement_units):
    from textmine.analysis import agreement

    units = agreement_units
    report = agreement(store, "Kodare A", "Kodare B")
    assert sorted(report.units) == sorted(units[:10])
    by = {c.code: c for c in report.codes}
    assert set(by) == {"Sekretess och samtycke", "Bostadsbrist"}
    x = by["Sekretess och samtycke"]
    # pairs: 4 (yes, yes), 2 (yes, no), 1 (no, yes), 3 (no, no)
    assert x.agreement.n_units == 10 and x.both == 4
    assert x.agreement.percent == pytest.approx(0.7)
    # p_e = 0.6 * 0.5 + 0.4 * 0.5 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5)
    assert x.agreement.kappa == pytest.approx(0.4)
    # coincidences: o_yy = 8, o_nn = 6, o_yn = o_ny = 3; n_y = 11, n_n = 9, n = 20;
    # alpha = 1 - (n - 1) * (o_yn + o_ny) / (2 * n_y * n_n) = 1 - 19 * 6 / 198 = 14/33
    assert x.agreement.alpha == pytest.approx(14 / 33)
    assert x.only_a == sorted(units[0:2]) and x.only_b == [units[6]]
    y = by["Bostadsbrist"]
    assert y.agreement.percent == 1.0 and y.agreement.kappa is None and y.agreement.alpha is None and y.both == 10
    # overall alpha over all 20 (unit, code) decisions: o_yy = 28, o_nn = 6, o_yn = o_ny = 3;
    # n_y = 31, n_n = 9, n = 40: 1 - 39 * 6 / (2 * 31 * 9)
    assert report.overall_alpha == pytest.approx(1 - 39 * 6 / (2 * 31 * 9))
    dis = {(d["passage_id"], d["code"]): d for d in report.disagreements}
    assert set(dis) == {(units[0], x.code), (units[1], x.code), (units[6], x.code)}
    assert dis[(units[0], x.code)]["applied_by"] == "Kodare A" and dis[(units[0], x.code)]["missing_for"] == "Kodare B"
    assert dis[(units[6], x.code)]["applied_by"] == "Kodare B" and dis[(units[6], x.code)]["missing_for"] == "Kodare A"
    d = dis[(units[6], x.code)]
    assert d["title"] and d["page"] and d["text"] == store.passage_by_id(units[6])["text"][:400]
    j = report.to_json()
    xj = next(c for c in j["codes"] if c["code"] == x.code)
    assert (xj["units"], xj["both"], xj["only_a"], xj["only_b"], xj["kappa"]) == (10, 4, 2, 1, 0.4)
    # and from the other side the figures are the same, the roles swapped
    rev = agreement(store, "Kodare B", "Kodare A")
    rx = next(c for c in rev.codes if c.code == x.code)
    assert rx.agreement.kappa == pytest.approx(0.4) and rx.only_a == [units[6]]


def test_agreement_needs_two_different_coders(store, agreement_units):
    from textmine.analysis import AnalysisError, agreement

    with pytest.raises(AnalysisError, match="two different coders"):
        agreement(store, "Kodare A", "kodare a")
    with pytest.raises(NotFound):
        agreement(store, "Kodare A", "Ingen sådan kodare")


# --- 7. export ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def export_home(corpus_home, tmp_path_factory) -> Path:
    """A copy with a known set of codings: a span over a ruling's party line (with a
    personnummer), whole passages, a span in a quote, two coders, memos."""
    home = copy_home(corpus_home, tmp_path_factory.mktemp("export") / "home")
    with Store(home) as s:
        ruling = text_passages(s, "kr-stockholm-2019-8812-18.pdf")[0]
        t = ruling["text"]
        start = t.index("KLAGANDE")
        end = t.index("\n", t.index("Ringvägen"))
        coding.assign(s, "Exportör A", "Rättslig bedömning och tillsyn", ruling["passage_id"], start, end)
        coding.assign(s, "Exportör B", "Rättslig bedömning och tillsyn", ruling["passage_id"])
        report = text_passages(s, "lst-kronoberg-2023-rapport.pdf")[2]
        coding.assign(s, "Exportör A", "Bostadsbrist", report["passage_id"])
        coding.assign(s, "Exportör B", "Bostadsbrist", report["passage_id"], 10, 60)
        coding.assign(s, "Exportör B", "Sekretess och samtycke", report["passage_id"], 10, 60)  # same span, other code
        q = quote_by_respondent(s, "enhetschef inom socialtjänsten i en större avsändande kommun")
        qt = q["text"]
        coding.assign(s, "Exportör A", "Medverkan till flytt utanför kommunen", q["passage_id"],
                      qt.index("Vi tänkte inte"), qt.index("någonstans") + len("någonstans"))
        coding.add_memo(s, "passage", ruling["passage_id"], "Parterna anges med initialer.", "Exportör A")
        coding.add_memo(s, "code", "Bostadsbrist", "Se även länsrapporterna.", "Exportör B")
        coding.add_memo(s, "document", str(report["doc_id"]), "Bra översikt.")
    return home


@pytest.fixture(scope="module")
def export_codings(export_home) -> list[dict]:
    with Store(export_home) as s:
        return s.codings()


def _key(r: dict) -> tuple:
    return (r["passage_id"], r["code_name"], r["coder_name"], r["start"], r["end"])


def test_csv_export(export_home, export_codings, tmp_path):
    from textmine.coding_export import SEGMENT_COLUMNS, export

    with Store(export_home) as s:
        result = export(s, "csv", tmp_path / "segment.csv")
    raw = (tmp_path / "segment.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert result["segments"] == len(rows) == len(export_codings) == 6
    assert tuple(rows[0].keys()) == SEGMENT_COLUMNS
    assert all(r["page"] and r["title"] and r["coder"] and r["code"] for r in rows)
    by = Counter((r["coder"], r["code"]) for r in rows)
    assert by[("Exportör B", "Bostadsbrist")] == 1 and by[("Exportör A", "Rättslig bedömning och tillsyn")] == 1
    span = next(r for r in rows if r["code"] == "Medverkan till flytt utanför kommunen")
    assert span["text"] == "Vi tänkte inte på det som att vi skickade folk någonstans"
    assert span["doc_type"] == "county_report" and span["county"] == "07"
    sek = next(r for r in rows if r["code"] == "Sekretess och samtycke")
    assert sek["code_path"] == "Information, sekretess och samtycke > Sekretess och samtycke"
    assert (sek["start"], sek["end"]) == ("10", "60")


def test_xlsx_export(export_home, export_codings, tmp_path):
    from openpyxl import load_workbook

    from textmine.coding_export import SEGMENT_COLUMNS, export

    with Store(export_home) as s:
        assert export(s, "xlsx", tmp_path / "segment.xlsx")["segments"] == 6
    ws = load_workbook(tmp_path / "segment.xlsx").active
    values = list(ws.values)
    assert values[0] == SEGMENT_COLUMNS and len(values) == 7
    rows = [dict(zip(SEGMENT_COLUMNS, v)) for v in values[1:]]
    assert {(r["coder"], r["code"], r["passage_id"]) for r in rows} == \
           {(r["coder_name"], r["code_name"], r["passage_id"]) for r in export_codings}
    assert all(isinstance(r["page"], int) and r["title"] for r in rows)
    assert not any(PERSONNUMMER.search(r["text"]) for r in rows)  # pseudonymised by default


def _qdpx_selections(path: Path) -> dict[str, str]:
    """coding guid -> the text of its selection in the project's source."""
    from textmine import qda

    project = qda.read_qdpx(path)
    return {c.guid: src.text[sel.start:sel.end] for src in project.sources for sel in src.selections for c in sel.codings}


def test_qdpx_export_validates_and_keeps_the_coded_text(export_home, export_codings, tmp_path):
    from textmine import qda
    from textmine.coding_export import export

    out = tmp_path / "projekt.qdpx"
    with Store(export_home) as s:
        result = export(s, "qdpx", out, pseudonymise=False)
    assert result["codings"] == 6 and result["sources"] == 2 and result["users"] == 2 and result["notes"] == 3
    with zipfile.ZipFile(out) as z:
        data = z.read("project.qde")
    if XSD.exists():
        assert qda.validate_project(data, XSD) == []
    project = qda.read_qdpx(out)
    assert {u.name for u in project.users} == {"Exportör A", "Exportör B"}
    codes = {c.name: c for c in qda.iter_codes(project.codes)}
    assert len(codes) == 44 and "Inkludera:" in codes["Bostadsbrist"].description
    assert codes["Bostadsbrist"].note_guids  # the memo on the code
    assert all(src.variables.get("textmine_sha256") for src in project.sources)
    texts = _qdpx_selections(out)
    assert set(texts) == {r["guid"] for r in export_codings}
    for r in export_codings:
        assert texts[r["guid"]] == r["text"], r["code_name"]  # a span's text, or the whole passage's
    # one selection for one span, however many codes it has
    sels = [sel for src in project.sources for sel in src.selections if len(sel.codings) == 2]
    assert len(sels) == 1


def _remove_all_codings(home: Path) -> None:
    with Store(home) as s:
        for c in s.coders():
            s.remove_codings(c["id"], [r["id"] for r in s.codings(coder_id=c["id"])])
        assert s.codings() == []


@pytest.mark.parametrize("pseudonymise", [True, False])
def test_qdpx_reimport_restores_the_codings(export_home, export_codings, tmp_path, pseudonymise):
    from textmine.coding_export import export, import_project

    out = tmp_path / "projekt.qdpx"
    with Store(export_home) as s:
        export(s, "qdpx", out, pseudonymise=pseudonymise)
    target = copy_home(export_home, tmp_path / "target")
    _remove_all_codings(target)
    proc = run_cli("code", "import", str(out), "--home", str(target), "--json", check=True)
    result = json.loads(proc.stdout)
    assert result["codings_added"] == 6 and result["selections_not_mapped"] == 0 and result["sources_not_stored"] == []
    with Store(target) as s:
        back = s.codings()
    assert {_key(r) for r in back} == {_key(r) for r in export_codings}
    assert sorted(r["text"] for r in back) == sorted(r["text"] for r in export_codings)
    with Store(target) as s:
        assert import_project(s, out)["codings_added"] == 0  # a second import does not double them
        assert len(s.codings()) == 6


def test_pseudonymisation_of_exports(export_home, export_codings, tmp_path):
    ruling = next(r for r in export_codings if r["start"] is not None and PERSONNUMMER.search(r["text"]))
    number = PERSONNUMMER.search(ruling["text"]).group(0)
    assert "A.B." in ruling["text"]  # the party, by initials
    from textmine.coding_export import export

    # the flag through the CLI for one of each pair (each CLI start costs seconds), the
    # same export function in-process for the other
    h = ("--home", str(export_home))
    run_cli("code", "export", "--format", "csv", "--out", str(tmp_path / "p.csv"), *h, check=True)
    run_cli("code", "export", "--format", "qdpx", "--out", str(tmp_path / "o.qdpx"), "--no-pseudonymise", *h, check=True)
    with Store(export_home) as s:
        export(s, "csv", tmp_path / "o.csv", pseudonymise=False)
        export(s, "qdpx", tmp_path / "p.qdpx")
    pseudo_csv = (tmp_path / "p.csv").read_text(encoding="utf-8-sig")
    open_csv = (tmp_path / "o.csv").read_text(encoding="utf-8-sig")
    assert number not in pseudo_csv and "A.B." not in pseudo_csv and "[personnummer]" in pseudo_csv
    assert number in open_csv and "A.B." in open_csv
    # the court and the public body stay
    assert "Socialnämnden i Södertälje kommun" in pseudo_csv

    def all_text(path: Path) -> str:
        with zipfile.ZipFile(path) as z:
            return "".join(z.read(n).decode("utf-8") for n in z.namelist() if not n.endswith("/"))

    assert number not in all_text(tmp_path / "p.qdpx") and "A.B." not in all_text(tmp_path / "p.qdpx")
    assert number in all_text(tmp_path / "o.qdpx")
    selection = _qdpx_selections(tmp_path / "p.qdpx")[ruling["guid"]]
    # the party's street address goes too; the selection ends where the coded text ends
    assert selection == "KLAGANDE\n[Person 1], [personnummer]\n[adress]"
    assert "Ringvägen 41 C" not in pseudo_csv and "Ringvägen 41 C" in open_csv
    assert _qdpx_selections(tmp_path / "o.qdpx")[ruling["guid"]] == ruling["text"]


def test_pseudonymiser_and_offset_map():
    from textmine.coding_export import OffsetMap, Pseudonymiser

    text = ("FÖRVALTNINGSRÄTTEN I UPPSALA\nKlagande: Anna Lindqvist, 19840312-5637\nStorgatan 3, 753 20 Uppsala\n"
            "Motpart: Socialnämnden i Uppsala kommun\n\nAnna Lindqvist har ansökt om ekonomiskt bistånd.\n"
            "Rådmannen Karin Holm har avgjort målet.\nKarin Holm\n")
    p = Pseudonymiser()
    assert p.private_names(text) == {"Anna Lindqvist"}
    new, mapping = p.apply(text)
    assert "Anna Lindqvist" not in new and "19840312-5637" not in new
    assert new.count("[Person 1]") == 2 and "[personnummer]" in new
    assert "Rådmannen Karin Holm" in new and "Karin Holm\n" in new  # the judge is named in office
    assert "Socialnämnden i Uppsala kommun" in new
    for phrase in ("har ansökt", "Rådmannen", "Motpart", "FÖRVALTNINGSRÄTTEN"):
        i = text.index(phrase)
        assert new[mapping(i):mapping(i) + len(phrase)] == phrase
    i = text.index("Anna Lindqvist har")
    assert new[mapping(i):mapping(i + len("Anna Lindqvist"), end=True)] == "[Person 1]"
    # the same name gets the same alias across calls of one export; a new one the next number
    assert p.apply("Klagande: Anna Lindqvist")[0] == "Klagande: [Person 1]"
    assert p.apply("Sökande: Erik Johansson, 850101-1234")[0] == "Sökande: [Person 2], [personnummer]"
    # extra names (rulings' parties by initials)
    assert Pseudonymiser({"A.B."}).apply("KLAGANDE\nA.B., 840312-5637")[0] == "KLAGANDE\n[Person 1], [personnummer]"

    m = OffsetMap([(2, 5, 1), (10, 12, 4)])  # "ab[XYZ]cdefg[HI]..." -> 3 chars become 1, 2 become 4
    assert [m(o) for o in (0, 1, 2)] == [0, 1, 2]
    assert m(3) == 2 and m(3, end=True) == 3  # inside a replacement: to its edges
    assert m(5) == 3 and m(9) == 7 and m(10) == 8 and m(12) == 12 and m(20) == 20
    assert OffsetMap([])(7) == 7


def test_export_errors(export_home, tmp_path):
    from textmine.coding_export import ExportError, export, import_codebook_file, import_project
    from textmine.errors import TextmineError

    with Store(export_home) as s:
        with pytest.raises(ExportError, match="does not exist"):
            export(s, "csv", tmp_path / "saknas" / "x.csv")
        with pytest.raises(ExportError, match="folder"):
            export(s, "csv", tmp_path)
        with pytest.raises(ExportError, match="unknown export format"):
            export(s, "pdf", tmp_path / "x.pdf")
        (tmp_path / "x.qdpx").write_text("inte en zip", encoding="utf-8")
        with pytest.raises(TextmineError, match="not a zip"):
            import_project(s, tmp_path / "x.qdpx")
        with pytest.raises(ExportError, match="no file"):
            import_codebook_file(s, tmp_path / "saknas.csv")
        (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00n\x00a")
        with pytest.raises(ExportError, match="UTF-8"):
            import_codebook_file(s, tmp_path / "bin.csv")


# --- 8. charts ---------------------------------------------------------------------------

def test_charts_svg_and_png(store, freq_passages):
    from textmine import charts
    from textmine.analysis import cooccurrence, frequencies

    table = frequencies(store, "county", coder_name="Frekvens")
    svg = charts.bar_chart(table, "svg")
    assert svg.lstrip().startswith((b"<?xml", b"<svg")) and b"<svg" in svg
    assert "Bostadsbrist".encode() in svg and "Dalarnas län".encode() in svg
    assert charts.bar_chart(table, "png").startswith(b"\x89PNG\r\n\x1a\n")
    heat = charts.heat_map(cooccurrence(store, coder_name="Frekvens"), "svg")
    assert "Sekretess och samtycke".encode() in heat and "Samförekomst".encode() in heat
    assert charts.heat_map(table, "png").startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ValueError):
        charts.bar_chart(table, "gif")


# --- 9. the CLI --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_home(corpus_home, tmp_path_factory) -> Path:
    return copy_home(corpus_home, tmp_path_factory.mktemp("cli") / "home")


def test_cli_help_on_every_code_command():
    """Through a real process for the group and one command (`python -m textmine.cli`
    must import cleanly), then in-process for every subcommand (each CLI start imports
    spaCy, which takes seconds)."""
    from typer.testing import CliRunner

    from textmine.cli import app
    from textmine.cli_code import code_app

    names = [c.name for c in code_app.registered_commands]
    assert len(names) >= 20 and {"assign", "undo", "export", "import", "agreement", "stats"} <= set(names)
    top = run_cli("code", "--help", check=True).stdout
    assert all(name in top for name in names)
    assert "--passage" in run_cli("code", "assign", "--help", check=True).stdout
    runner = CliRunner()
    for name in names:
        res = runner.invoke(app, ["code", name, "--help"])
        assert res.exit_code == 0 and "Usage" in res.output and "--home" in res.output, (name, res.output)


def test_cli_coding_flow(cli_home, tmp_path):
    h = ("--home", str(cli_home))
    proc = run_cli("code", "codebook", "--json", *h, check=True)
    book = json.loads(proc.stdout)  # JSON only
    assert len(book) >= 3 and sum(1 + len(c["children"]) for c in book) == 44

    with Store(cli_home) as s:
        p1, p2, p3 = [p["passage_id"] for p in text_passages(s, "lst-skane-2023-rapport.pdf")[:3]]
        t1 = s.passage_by_id(p1)["text"]
    added = json.loads(run_cli("code", "assign", "--passage", p1, "--code", "Bostadsbrist", "--coder", "Cecilia",
                               "--json", *h, check=True).stdout)["added"]
    assert len(added) == 1 and added[0]["text"] == t1 and added[0]["coder"] == "Cecilia"
    span = json.loads(run_cli("code", "assign", "--passage", p1, "--code", "Sekretess och samtycke", "--coder", "Cecilia",
                              "--start", "0", "--end", "12", "--json", *h, check=True).stdout)["added"]
    assert span[0]["text"] == t1[:12] and (span[0]["start"], span[0]["end"]) == (0, 12)
    again = run_cli("code", "assign", "--passage", p1, "--code", "Bostadsbrist", "--coder", "Cecilia", *h, check=True)
    assert "already" in again.stdout
    undone = json.loads(run_cli("code", "undo", "--coder", "Cecilia", "--json", *h, check=True).stdout)
    assert undone == {"kind": "assign", "codings": [span[0]["id"]]}
    rows = json.loads(run_cli("code", "list", "--json", "--coder", "Cecilia", *h, check=True).stdout)
    assert [(r["passage_id"], r["code"]) for r in rows] == [(p1, "Bostadsbrist")]
    assert rows[0]["page"] and rows[0]["title"] and rows[0]["county"] == "12"

    bulk = json.loads(run_cli("code", "bulk", "--passage", p1, "--passage", p2, "--passage", p3, "--code", "Bostadsbrist",
                              "--coder", "David", "--json", *h, check=True).stdout)
    assert bulk["passages"] == [p1, p2, p3] and len(bulk["added"]) == 3
    run_cli("code", "assign", "--passage", p2, "--code", "Bostadsbrist", "--coder", "Cecilia", *h, check=True)
    ag = json.loads(run_cli("code", "agreement", "--json", *h, check=True).stdout)  # the two coders who coded
    assert (ag["coder_a"], ag["coder_b"], ag["units"]) == ("Cecilia", "David", 2)
    [c] = ag["codes"]
    assert (c["code"], c["both"], c["percent"], c["kappa"]) == ("Bostadsbrist", 2, 1.0, None)
    assert ag["disagreements"] == []

    chart = tmp_path / "län.svg"
    proc = run_cli("code", "stats", "--by", "county", "--json", "--chart", str(chart), *h, check=True)
    stats = json.loads(proc.stdout)  # the chart's note goes to stderr
    assert stats["dimension"] == "county" and stats["cells"]["Bostadsbrist"] == {"Skåne län": 3}
    assert chart.read_bytes().lstrip().startswith((b"<?xml", b"<svg")) and "Skåne län".encode() in chart.read_bytes()

    exports = {}
    for fmt in ("qdpx", "csv", "xlsx"):
        out = tmp_path / f"kodning.{fmt}"
        res = json.loads(run_cli("code", "export", "--format", fmt, "--out", str(out), "--json", *h, check=True).stdout)
        assert out.stat().st_size > 0 and res["format"] == fmt
        exports[fmt] = out
    assert zipfile.is_zipfile(exports["qdpx"]) and zipfile.is_zipfile(exports["xlsx"])
    assert len(list(csv.DictReader(io.StringIO(exports["csv"].read_text(encoding="utf-8-sig"))))) == 5

    target = copy_home(cli_home, tmp_path / "target")
    _remove_all_codings(target)
    res = json.loads(run_cli("code", "import", str(exports["qdpx"]), "--home", str(target), "--json", check=True).stdout)
    assert res["codings_added"] == 5
    back = json.loads(run_cli("code", "list", "--json", "--home", str(target), check=True).stdout)
    now = json.loads(run_cli("code", "list", "--json", *h, check=True).stdout)
    key = lambda r: (r["passage_id"], r["code"], r["coder"], r["start"], r["end"])  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, now))

    # editing the codebook
    run_cli("code", "add", "Ny kod", "--parent", "Bostadsbrist", "--description", "Test", "--example", "ett",
            "--example", "två", *h, check=True)
    run_cli("code", "edit", "Ny kod", "--rename", "Omdöpt kod", "--parent", "", "--inclusion", "När", *h, check=True)
    book = {c["name"]: c for c in json.loads(run_cli("code", "codebook", "--json", *h, check=True).stdout)}
    assert book["Omdöpt kod"]["examples"] == ["ett", "två"] and book["Omdöpt kod"]["parent"] is None
    assert book["Omdöpt kod"]["inclusion"] == "När" and book["Omdöpt kod"]["description"] == "Test"


def test_cli_errors_are_one_line(cli_home, tmp_path):
    h = ("--home", str(cli_home))
    with Store(cli_home) as s:
        p = text_passages(s, "lst-vastmanland-2022-rapport.pdf")[0]
    pid, n = p["passage_id"], len(p["text"])
    (tmp_path / "trasig.qdpx").write_text("inte en zip-fil", encoding="utf-8")
    cases = [
        (("code", "assign", "--passage", pid, "--code", "Ingen sådan kod", "--coder", "Fel"), "no code"),
        (("code", "assign", "--passage", "00000000-00000000", "--code", "Bostadsbrist", "--coder", "Fel"), "no passage"),
        (("code", "assign", "--passage", pid, "--code", "Bostadsbrist", "--coder", "Fel", "--start", "5", "--end",
          str(n + 10)), "outside the passage"),
        (("code", "assign", "--passage", pid, "--code", "Bostadsbrist", "--coder", "Fel", "--start", "5"), "both"),
        (("code", "assign", "--passage", pid, "--code", "Bostadsbrist", "--coder", "Fel", "--start", "9", "--end", "3"),
         "outside the passage"),
        (("code", "export", "--format", "qdpx", "--out", str(tmp_path / "saknas" / "x.qdpx")), "does not exist"),
        (("code", "import", str(tmp_path / "trasig.qdpx")), "not a zip"),
        (("code", "edit", "Bostadsmarknad och hyresvärdar", "--parent", "Bostadsbrist"), "own ancestor"),
        (("code", "memo", "--on", "sida", "--target", "1", "--text", "x"), "not 'sida'"),
        (("code", "undo", "--coder", "Ingen sådan kodare"), "no coder"),
        (("code", "stats", "--by", "county", "--chart", str(tmp_path / "x.gif")), "svg or .png"),
    ]
    for args, message in cases:
        line = one_line_error(run_cli(*args, *h))
        assert message in line, (args, line)
    assert not (tmp_path / "x.gif").exists()

    # agreement when a single coder has codings
    one = copy_home(cli_home, tmp_path / "one")
    with Store(one) as s:
        coding.assign(s, "Ensam", "Bostadsbrist", pid)
        for c in s.coders():
            if c["name"] != "Ensam":
                s.remove_codings(c["id"], [r["id"] for r in s.codings(coder_id=c["id"])])
    assert "1 coders have codings (Ensam)" in one_line_error(run_cli("code", "agreement", "--home", str(one)))
