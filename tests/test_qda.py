"""REFI-QDA exchange: a realistic Swedish project written as .qdpx validates against the
QDA-XML 1.0 schema and reads back equal; codebooks (.qdc) round-trip; files from other
tools read; bad files fail with one-line messages."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path

import pytest

from textmine.errors import TextmineError
from textmine.qda import (
    CODEBOOK_NS,
    PROJECT_NS,
    QdaCode,
    QdaCoding,
    QdaNote,
    QdaProject,
    QdaSelection,
    QdaSource,
    QdaUser,
    check_project,
    codebook_xml,
    iter_codes,
    new_guid,
    project_xml,
    read_project_xml,
    read_qdc,
    read_qdpx,
    source_member,
    validate_project,
    write_qdc,
    write_qdpx,
)

XSD = Path(__file__).resolve().parents[1] / ".." / "shared" / "refi-qda" / "Project-mrt2019.xsd"

TEXT_1 = (
    "Kammarrätten i Stockholm\n"
    "DOM 2019-05-14, mål nr 8812-18\n\n"
    "Socialnämnden i Södertälje kommun har enligt 4 kap. 1 § socialtjänstlagen (2001:453) "
    "beviljat ekonomiskt bistånd till kostnader för resa och hyra i Åsele kommun.\n"
    "Nämnden har ”aktivt medverkat” till bosättningen utan att samråda med mottagande "
    "kommun – något som enligt 2 a kap. 10 § SoL kräver samråd.\n"
    "Överklagandet bifalls delvis; nämndens beslut upphävs.\n"
)
TEXT_2 = (
    "Förvaltningsrätten i Malmö\n"
    "Beslut 2021-03-02 (mål 6543-21)\n\n"
    "Klaganden har fått ’försörjningsstöd’ för flytt till Hällefors. Rätten finner att "
    "kommunens åtgärder inte utgör aktiv medverkan enligt 16 kap. 2 § SoL.\n"
    "Ärendet återförvisas till nämnden för ny prövning – se även RÅ 2004 ref. 86.\n"
)


def span(text: str, phrase: str) -> tuple[int, int]:
    start = text.index(phrase)
    return start, start + len(phrase)


def build_project() -> QdaProject:
    anna = QdaUser(new_guid(), "Anna Lindqvist")
    orjan = QdaUser(new_guid(), "Örjan Söderström")
    note_code = QdaNote(new_guid(), "Om koden", "Används när nämnden själv ordnar bostad eller resa.\nJfr prop. 2016/17:1.", anna.guid, "2024-05-02T09:30:00+02:00")
    note_sel = QdaNote(new_guid(), "Fråga", "Är ”samråd” här samma sak som i 2 a kap. 10 § SoL?", orjan.guid, "2024-05-03T14:05:12Z")
    note_project = QdaNote(new_guid(), "Projektmemo", "Urval: domar 2019–2021 om bosättning i annan kommun.\r\nRad två.", anna.guid)

    aktiv = QdaCode(new_guid(), "Aktiv medverkan", "Kommunen ordnar bosättning i en annan kommun.", "#C0392B", note_guids=[note_code.guid])
    forsorjning = QdaCode(new_guid(), "Försörjningsstöd", color="#2E86C1")
    bistand = QdaCode(new_guid(), "Ekonomiskt bistånd", "4 kap. 1 § SoL", "#28B463", children=[forsorjning])
    bosattning = QdaCode(new_guid(), "Bosättning", "", None, children=[aktiv, bistand])
    samrad = QdaCode(new_guid(), "Samråd – 2 a kap. 10 § SoL", color="#abc")
    grund = QdaCode(new_guid(), "Rättslig grund", "Kategori för lagrum", is_codable=False, children=[samrad])

    s1_start, s1_end = span(TEXT_1, "beviljat ekonomiskt bistånd till kostnader")
    s2_start, s2_end = span(TEXT_1, "Nämnden har ”aktivt medverkat” till bosättningen")
    s3_start, s3_end = span(TEXT_1, "2 a kap. 10 § SoL kräver samråd")
    s4_start, s4_end = span(TEXT_2, "’försörjningsstöd’ för flytt till Hällefors")
    source_1 = QdaSource(
        new_guid(),
        "kr-stockholm-2019-8812-18",
        TEXT_1,
        description="Kammarrättens dom, Södertälje → Åsele",
        creating_user=anna.guid,
        creation_datetime="2024-05-01T08:00:00+02:00",
        variables={"län": "Stockholms län", "dokumenttyp": "dom", "år": "2019"},
        selections=[
            QdaSelection(
                new_guid(), s1_start, s1_end, name="bistånd till resa och hyra",
                creating_user=anna.guid, creation_datetime="2024-05-02T10:00:00+02:00",
                codings=[
                    QdaCoding(new_guid(), bistand.guid, anna.guid, "2024-05-02T10:00:00+02:00"),
                    QdaCoding(new_guid(), aktiv.guid, orjan.guid, "2024-05-03T11:15:00+02:00"),
                ],
            ),
            QdaSelection(
                new_guid(), s2_start, s2_end, creating_user=orjan.guid,
                creation_datetime="2024-05-03T11:20:00.250000+02:00",
                description="Citatet visar nämndens egen bedömning.",
                codings=[QdaCoding(new_guid(), aktiv.guid, orjan.guid, "2024-05-03T11:20:00+02:00")],
                note_guids=[note_sel.guid],
            ),
            QdaSelection(
                new_guid(), s3_start, s3_end, creating_user=anna.guid,
                codings=[QdaCoding(new_guid(), samrad.guid, anna.guid)],
            ),
        ],
    )
    source_2 = QdaSource(
        new_guid(),
        "fr-malmo-2021-6543-21",
        TEXT_2,
        creating_user=orjan.guid,
        creation_datetime="2024-05-01T08:05:00+02:00",
        variables={"län": "Skåne län", "dokumenttyp": "beslut"},
        codings=[QdaCoding(new_guid(), bosattning.guid, orjan.guid, "2024-05-04T09:00:00Z")],
        selections=[
            QdaSelection(
                new_guid(), s4_start, s4_end, creating_user=orjan.guid,
                codings=[
                    QdaCoding(new_guid(), forsorjning.guid, orjan.guid),
                    QdaCoding(new_guid(), aktiv.guid, anna.guid),
                ],
            ),
        ],
    )
    return QdaProject(
        name="Aktiv medverkan – bosättning i annan kommun",
        creating_user=anna.guid,
        creation_datetime="2024-05-01T07:59:00+02:00",
        description="Kodning av domar och beslut om 2 a kap. 10 § SoL.",
        users=[anna, orjan],
        codes=[bosattning, grund],
        sources=[source_1, source_2],
        notes=[note_code, note_sel, note_project],
        note_guids=[note_project.guid],
    )


@pytest.fixture
def project() -> QdaProject:
    return build_project()


def selected(project: QdaProject) -> list[str]:
    return [s.text[sel.start:sel.end] for s in project.sources for sel in s.selections]


def test_qdpx_round_trip(project, tmp_path):
    path = write_qdpx(project, tmp_path / "projekt.qdpx")
    back = read_qdpx(path)
    assert back == project
    assert back.skipped == 0 and back.warnings == []
    assert selected(back) == [
        "beviljat ekonomiskt bistånd till kostnader",
        "Nämnden har ”aktivt medverkat” till bosättningen",
        "2 a kap. 10 § SoL kräver samråd",
        "’försörjningsstöd’ för flytt till Hällefors",
    ]
    assert back.sources[0].variables == {"län": "Stockholms län", "dokumenttyp": "dom", "år": "2019"}
    assert back.notes[2].text.endswith("kommun.\r\nRad två.")  # CR survives the XML
    assert [c.name for c in iter_codes(back.codes)] == [
        "Bosättning", "Aktiv medverkan", "Ekonomiskt bistånd", "Försörjningsstöd",
        "Rättslig grund", "Samråd – 2 a kap. 10 § SoL",
    ]


def test_qdpx_layout(project, tmp_path):
    path = write_qdpx(project, tmp_path / "projekt.qdpx")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        qde = zf.read("project.qde")
        for source in project.sources:
            member = source_member(source.guid)
            assert member in names and member == f"sources/{source.guid}.txt"
            assert zf.read(member).decode("utf-8") == source.text  # UTF-8, no BOM
    assert qde.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert f'xmlns="{PROJECT_NS}"'.encode() in qde
    assert f'plainTextPath="internal://{project.sources[0].guid}.txt"'.encode() in qde
    assert qde.count(b"<PlainTextContent>") == len(project.notes)  # only notes inline text
    assert b'typeOfVariable="Text"' in qde and "<TextValue>Skåne län</TextValue>".encode() in qde


def test_qde_validates_against_schema(project):
    if not XSD.exists():
        pytest.skip(f"REFI-QDA schema not found at {XSD.resolve()} (it sits beside the project in CI)")
    assert validate_project(project_xml(project), XSD) == []
    assert validate_project(project_xml(project, inline_text=True), XSD) == []
    # A minimal project (no users, codes, sources or notes) is valid too.
    assert validate_project(project_xml(QdaProject(name="Tomt")), XSD) == []
    # And the validator does report problems.
    bad = project_xml(project).replace(b'isCodable="false"', b"")
    errors = validate_project(bad, XSD)
    assert errors and "isCodable" in errors[0]
    assert validate_project(b"<Project", XSD)[0].startswith("malformed XML")


def test_inline_text_reads_back(project):
    back = read_project_xml(project_xml(project, inline_text=True))
    assert back == project


def test_qdc_round_trip(project, tmp_path):
    codes = copy.deepcopy(project.codes)
    for code in iter_codes(codes):
        code.note_guids = []  # a codebook carries no notes
    path = write_qdc(project.codes, tmp_path / "kodbok.qdc")
    data = path.read_bytes()
    assert f'xmlns="{CODEBOOK_NS}"'.encode() in data and b"<CodeBook" in data and b"NoteRef" not in data
    assert read_qdc(path) == codes
    assert read_qdc(codebook_xml(project.codes)) == codes
    assert read_qdc(str(path)) == codes


def test_write_refuses_broken_references(project, tmp_path):
    broken = copy.deepcopy(project)
    broken.sources[0].selections[0].codings[0].code_guid = new_guid()
    broken.sources[1].selections[0].end = len(broken.sources[1].text) + 1
    problems = check_project(broken)
    assert len(problems) == 2
    with pytest.raises(TextmineError, match="not in the codebook"):
        write_qdpx(broken, tmp_path / "trasig.qdpx")
    assert not (tmp_path / "trasig.qdpx").exists()
    bad_guid = copy.deepcopy(project)
    bad_guid.users[0].guid = "anna"
    assert any("GUID 'anna'" in p for p in check_project(bad_guid))


def one_line_error(call) -> str:
    with pytest.raises(TextmineError) as info:
        call()
    message = str(info.value)
    assert message and "\n" not in message
    return message


def zip_with(path: Path, members: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return path


def test_bad_inputs(project, tmp_path):
    not_zip = tmp_path / "inte-zip.qdpx"
    not_zip.write_text("Detta är ingen zip-fil.", encoding="utf-8")
    assert "not a zip archive" in one_line_error(lambda: read_qdpx(not_zip))

    no_qde = zip_with(tmp_path / "utan-qde.qdpx", {"sources/a.txt": "hej"})
    assert "no project.qde" in one_line_error(lambda: read_qdpx(no_qde))

    assert "no such file" in one_line_error(lambda: read_qdpx(tmp_path / "finns-inte.qdpx"))

    good = project_xml(project)
    wrong_ns = good.replace(PROJECT_NS.encode(), b"urn:example:annat")
    path = zip_with(tmp_path / "fel-namnrymd.qdpx", {"project.qde": wrong_ns})
    message = one_line_error(lambda: read_qdpx(path))
    assert "urn:example:annat" in message and PROJECT_NS in message

    codebook_as_project = zip_with(tmp_path / "kodbok.qdpx", {"project.qde": codebook_xml(project.codes)})
    assert "CodeBook" in one_line_error(lambda: read_qdpx(codebook_as_project))
    assert "not a REFI-QDA codebook" in one_line_error(lambda: read_qdc(good))

    malformed = zip_with(tmp_path / "trasig.qdpx", {"project.qde": good[: len(good) // 2]})
    assert "malformed XML" in one_line_error(lambda: read_qdpx(malformed))

    source = project.sources[0]
    outside = good.replace(f'endPosition="{source.selections[0].end}"'.encode(), b'endPosition="99999"')
    members = {"project.qde": outside, source_member(source.guid): source.text}
    members[source_member(project.sources[1].guid)] = project.sources[1].text
    path = zip_with(tmp_path / "utanfor.qdpx", members)
    assert "outside the text" in one_line_error(lambda: read_qdpx(path))


FOREIGN = """<?xml version="1.0" encoding="utf-8"?>
<!-- in the style of another tool: no Users, text inline, upper-case GUIDs -->
<Project xmlns="urn:QDA-XML:project:1.0" name="Intervjuer" origin="OtherQDA 2.1">
  <CodeBook>
    <Codes>
      <Code guid="A1B2C3D4-0000-4000-8000-000000000001" name="Boende" isCodable="false">
        <Code guid="A1B2C3D4-0000-4000-8000-000000000002" name="Flytt" isCodable="true" color="#FF0000">
          <Description>Flytt till annan kommun</Description>
          <Code guid="A1B2C3D4-0000-4000-8000-000000000003" name="Tvång" isCodable="true">
            <Code guid="A1B2C3D4-0000-4000-8000-000000000004" name="Påtryckning"/>
          </Code>
        </Code>
      </Code>
    </Codes>
  </CodeBook>
  <Variables>
    <Variable guid="A1B2C3D4-0000-4000-8000-0000000000a1" name="Kommun" typeOfVariable="Text"/>
    <Variable guid="A1B2C3D4-0000-4000-8000-0000000000a2" name="Ålder" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="A1B2C3D4-0000-4000-8000-0000000000c1">
      <VariableValue><VariableRef targetGUID="A1B2C3D4-0000-4000-8000-0000000000a2"/><IntegerValue>42</IntegerValue></VariableValue>
      <SourceRef targetGUID="A1B2C3D4-0000-4000-8000-000000000010"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="A1B2C3D4-0000-4000-8000-000000000010" name="Intervju 1">
      <PlainTextContent>Vi fick ”hjälp” att flytta till Övertorneå – mot vår vilja.</PlainTextContent>
      <PlainTextSelection guid="A1B2C3D4-0000-4000-8000-000000000011" startPosition="8" endPosition="15" creatingUser="">
        <Coding guid="A1B2C3D4-0000-4000-8000-000000000012">
          <CodeRef targetGUID="A1B2C3D4-0000-4000-8000-000000000004"/>
        </Coding>
      </PlainTextSelection>
      <VariableValue><VariableRef targetGUID="A1B2C3D4-0000-4000-8000-0000000000a1"/><TextValue>Övertorneå</TextValue></VariableValue>
    </TextSource>
    <TextSource guid="A1B2C3D4-0000-4000-8000-000000000020" name="Intervju 2" plainTextPath="internal://A1B2C3D4-0000-4000-8000-000000000020.txt">
      <PlainTextSelection guid="A1B2C3D4-0000-4000-8000-000000000021" startPosition="0" endPosition="5"/>
    </TextSource>
    <PictureSource guid="A1B2C3D4-0000-4000-8000-000000000030" name="Karta" path="internal://karta.png"/>
  </Sources>
  <Sets><Set guid="A1B2C3D4-0000-4000-8000-000000000040" name="Urval"/></Sets>
</Project>
"""


def test_foreign_minimal_project_reads(tmp_path):
    # Sources under a capitalised folder, everything inside a top folder, a UTF-8 BOM.
    path = zip_with(
        tmp_path / "annat-verktyg.qdpx",
        {
            "Intervjuer/project.qde": FOREIGN.encode("utf-8"),
            "Intervjuer/Sources/A1B2C3D4-0000-4000-8000-000000000020.txt": "\ufeffÄldre text: § 3.".encode("utf-8"),
            "Intervjuer/Sources/karta.png": b"\x89PNG",
        },
    )
    project = read_qdpx(path)
    assert project.name == "Intervjuer" and project.origin == "OtherQDA 2.1"
    assert project.users == [] and project.notes == []
    assert [c.name for c in iter_codes(project.codes)] == ["Boende", "Flytt", "Tvång", "Påtryckning"]
    assert project.codes[0].is_codable is False and project.codes[0].children[0].color == "#FF0000"
    first, second = project.sources
    assert first.text[8:15] == "”hjälp”"
    assert first.selections[0].codings[0].code_guid == "A1B2C3D4-0000-4000-8000-000000000004"
    assert first.selections[0].creating_user is None  # creatingUser="" means no user
    assert first.variables == {"Kommun": "Övertorneå", "Ålder": "42"}  # the second from a Case
    assert second.text == "Äldre text: § 3." and second.text[0:5] == "Äldre"
    assert project.skipped == 1
    assert any("PictureSource" in w for w in project.warnings)
    assert any("sets" in w for w in project.warnings)
    # The same document read straight from XML, second source's text passed by name.
    direct = read_project_xml(FOREIGN.encode(), {"A1B2C3D4-0000-4000-8000-000000000020.txt": "Äldre text: § 3."})
    assert direct == project
    # What was read can be written again, valid, keeping the variable GUIDs.
    if XSD.exists():
        assert validate_project(project_xml(project), XSD) == []
    assert b"A1B2C3D4-0000-4000-8000-0000000000a1" in project_xml(project)


def test_crlf_positions(tmp_path):
    text = "Rad ett\r\nRad två\r\n"
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p" origin="{{origin}}">
  <Sources><TextSource guid="{'1' * 8}-1111-4111-8111-{'1' * 12}" name="a" plainTextPath="internal://a.txt">
    <PlainTextSelection guid="{'2' * 8}-2222-4222-8222-{'2' * 12}" startPosition="{{start}}" endPosition="{{end}}"/>
  </TextSource></Sources>
</Project>"""
    files = {"sources/a.txt": text.encode("utf-8")}
    kept = read_project_xml(xml.format(origin="NVivo", start=9, end=16).encode(), files)
    source = kept.sources[0]
    assert source.text == text and source.text[9:16] == "Rad två"
    collapsed = read_project_xml(xml.format(origin="ATLAS.ti 23", start=8, end=15).encode(), files)
    assert collapsed.sources[0].text == "Rad ett\nRad två\n" and collapsed.sources[0].text[8:15] == "Rad två"
    forced = read_project_xml(xml.format(origin="x", start=8, end=15).encode(), files, newlines="collapse")
    assert forced.sources[0].text[8:15] == "Rad två"
