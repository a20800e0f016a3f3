"""The real 44-page Statskontoret report 2020:19: headings, footnotes, running
headers, lists, quotes and metadata, checked against what the PDF shows."""

from __future__ import annotations

import re

from conftest import body_blocks

# Every numbered heading of the report, as printed (chapter 1 to 5.2.4).
NUMBERED = (
    "1 1.1 1.2 1.2.1 1.3 1.3.1 1.3.2 1.3.3 1.4 1.5 "
    "2 2.1 2.1.1 2.1.2 2.1.3 2.2 2.2.1 2.2.2 2.2.3 2.3 2.4 2.4.1 2.4.2 2.4.3 2.4.4 "
    "3 3.1 3.1.1 3.1.2 3.1.3 3.1.4 3.2 3.3 3.4 3.4.1 "
    "4 4.1 4.1.1 4.1.2 4.1.3 4.2 4.3 4.3.1 4.3.2 4.3.3 "
    "5 5.1 5.1.1 5.2 5.2.1 5.2.2 5.2.3 5.2.4"
).split()
RUNNING_HEADER = "Aktiv medverkan till bosättning i annan kommun 2020-11-02"


def headings(doc):
    return [(p, b) for p, b in doc.blocks(("heading",))]


def test_all_numbered_headings_in_order_with_levels(real_report):
    found = [b for _, b in headings(real_report) if b.number]
    assert [b.number for b in found] == NUMBERED
    for b in found:
        assert b.level == b.number.count(".") + 1
    by_number = {b.number: b.text for b in found}
    assert by_number["2.2.1"] == "Vissa kommuner kräver att personer söker bostad utanför kommunen för att bevilja försörjningsstöd"
    # a heading printed over two lines is one heading
    assert by_number["2.1"] == "Aktiv medverkan handlar om hur kommuner agerar gentemot socialt utsatta personer"
    assert by_number["5.2.4"].startswith("Regeringen bör se över bosättningslagen")


def test_unnumbered_headings(real_report):
    texts = {b.text for _, b in headings(real_report) if not b.number}
    for expected in ("Sammanfattning", "Referenser", "Våra iakttagelser", "Innehåll", "Bilaga 1"):
        assert expected in texts
    levels = {b.text: b.level for _, b in headings(real_report) if not b.number}
    assert levels["Sammanfattning"] == 1 and levels["Referenser"] == 1


def test_footnotes_are_separated_numbered_and_linked(real_report):
    notes = [(p, b) for p, b in real_report.blocks(("footnote",))]
    numbers = [int(b.number) for _, b in notes]
    assert numbers == list(range(1, 80)), "footnotes 1..79 in order"
    refs = {r.number for _, b in real_report.blocks() for r in b.refs}
    assert refs == set(range(1, 80)), "every footnote's mark found in the body"
    for page, b in notes:
        assert b.ref_page == page  # the mark is on the footnote's page
    first = notes[0][1]
    assert first.text.startswith("Regeringsbeslut 2020. Uppdrag att kartlägga medverkan")
    # footnote text never leaks into the body of its page, and marks are not glued to words
    for page, note in notes:
        body = " ".join(b.text for b in real_report.pages[page - 1].blocks if b.kind in ("paragraph", "list_item", "quote"))
        assert note.text[:40] not in body
    body = " ".join(b.text for b in body_blocks(real_report))
    assert "bostadsorten.1" not in body and "bostadsorten." in body


def test_mark_offsets_point_after_the_marked_word(real_report):
    for _, b in real_report.blocks():
        for r in b.refs:
            assert 0 < r.offset <= len(b.text)
            before = b.text[: r.offset].rstrip()
            assert before and (before[-1].isalnum() or before[-1] in ".,;:)”\"?!")


def test_no_running_header_or_page_number_in_body(real_report):
    header_blocks = [b for _, b in real_report.blocks(("header",))]
    assert len(header_blocks) >= 40
    assert all(b.text == RUNNING_HEADER for b in header_blocks)
    footers = [b.text for _, b in real_report.blocks(("footer",))]
    assert all(re.fullmatch(r"\d+", t) for t in footers)
    for b in body_blocks(real_report):
        assert RUNNING_HEADER not in b.text
    # no page's first body block starts with the header's words
    for page in real_report.pages:
        body = [b for b in page.blocks if b.kind not in ("header", "footer", "footnote")]
        if body:
            assert not body[0].text.startswith("Aktiv medverkan till bosättning i annan kommun 2020")


def test_text_is_clean_swedish(real_report):
    text = "\n".join(b.text for _, b in real_report.blocks())
    for bad in ("(cid:", "\u00ad", "\u00a0", "\ufb01", "\ufb02", "\ufffd"):
        assert bad not in text
    for word in ("försörjningsstöd", "bosättningslagen", "Hällefors", "Östergötland", "socialtjänstlagen (2001:453)"):
        assert word in text


def test_lists_and_interview_quotes(real_report):
    page11 = real_report.pages[10]
    items = [b.text for b in page11.blocks if b.kind == "list_item"]
    assert len(items) == 5
    assert items[0].startswith("Enligt Statskontorets definition är aktiv medverkan")
    assert not any(t.startswith(("•", "(cid")) for t in items)
    quotes = [b for p, b in real_report.blocks(("quote",))]
    assert len(quotes) >= 5
    assert any(q.text.startswith("Socialtjänsten började höra berättelser") for q in quotes)


def test_metadata(real_report):
    assert real_report.doc_type == "agency_report"
    assert real_report.issuer == "Statskontoret"
    assert real_report.date == "2020-11-02"
    assert real_report.title.startswith("Aktiv medverkan till bosättning i annan kommun")
    assert real_report.n_pages == 44


def test_other_real_documents_metadata():
    from conftest import real_corpus_or_skip
    from textmine.parse import parse_file

    real = real_corpus_or_skip()
    decision = parse_file(real / "regeringsbeslut-2021-05-06-uppdrag-lansstyrelserna.pdf")
    assert decision.doc_type == "government_decision"
    assert decision.date == "2021-05-06"
    assert decision.issuer.startswith("Regeringen")
    assert decision.title == "Uppdrag att motverka aktiv medverkan till bosättning i annan kommun"
    press = parse_file(real / "pressmeddelande-fi-statskontoret-kartlagga.pdf")
    assert press.doc_type == "press_release"
    assert press.issuer == "Finansdepartementet"
    assert press.title == "Statskontoret ska kartlägga social dumpning mellan kommuner"
