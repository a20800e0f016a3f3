"""Entity patterns, family by family, from citation forms as they appear in real Swedish
documents (as eyecite tests each citation pattern on real citations)."""

from __future__ import annotations

import pytest

from textmine.nlp import tag_text


def ents(text: str, label: str | None = None) -> list[tuple[str, str, str]]:
    return [(e.label, e.text, e.norm) for e in tag_text(text) if label is None or e.label == label]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("enligt 3 kap. 5 § SoL ska insatserna", ("3 kap. 5 § SoL", "2001:453 3 kap. 5 §")),
        ("rätt till bistånd enligt 4 kap. 1 § socialtjänstlagen (2001:453), SoL,", ("4 kap. 1 § socialtjänstlagen (2001:453)", "2001:453 4 kap. 1 §")),
        ("sekretess enligt 26 kap. 1 § OSL gäller", ("26 kap. 1 § OSL", "2009:400 26 kap. 1 §")),
        ("enligt 12 § förordningen (2016:39) ska", ("12 § förordningen (2016:39)", "2016:39 12 §")),
        ("I regeringsformens 1 kap. 2 § regeringsformen stadgas", ("1 kap. 2 § regeringsformen", "1974:152 1 kap. 2 §")),
        ("enligt 4 kap. 1 § första stycket SoL", ("4 kap. 1 § första stycket SoL", "2001:453 4 kap. 1 § 1 st.")),
        ("Se 2–5 §§ förordningen (2017:868) med länsstyrelseinstruktion", ("2–5 §§ förordningen (2017:868)", "2017:868 2–5 §§")),
        ("ansvaret enligt 2 a kap. SoL", ("2 a kap. SoL", "2001:453 2a kap.")),
        ("enligt 2 a kap. 2 och 3 §§ SoL", ("2 a kap. 2 och 3 §§ SoL", "2001:453 2a kap. 2, 3 §§")),
        ("8 a § lagen (2016:38) om mottagande", ("8 a § lagen (2016:38)", "2016:38 8a §")),
    ],
)
def test_provisions(text, expected):
    assert ("PROVISION", *expected) in ents(text)


def test_provision_takes_the_nearest_law_before_it():
    found = ents("Socialtjänstlagen (2001:453) gäller. Enligt 2 a kap. 8 § ska nämnden pröva ärendet.", "PROVISION")
    assert found == [("PROVISION", "2 a kap. 8 §", "2001:453 2a kap. 8 §")]
    found = ents("Av 26 kap. 1 § OSL följer sekretess, men 12 kap. 2 § ger undantag.", "PROVISION")
    assert found[1] == ("PROVISION", "12 kap. 2 §", "2009:400 12 kap. 2 §")
    assert ents("Enligt 3 kap. 5 § ska insatser utformas.", "PROVISION") == [("PROVISION", "3 kap. 5 §", "3 kap. 5 §")]


@pytest.mark.parametrize(
    "text, span, norm",
    [
        ("socialtjänstlagen (2001:453) är en ramlag", "socialtjänstlagen (2001:453)", "2001:453"),
        ("enligt SoL får nämnden", "SoL", "2001:453"),
        ("bosättningslagen har lett till", "bosättningslagen", "2016:38"),
        ("lagen (2016:38) om mottagande av vissa nyanlända invandrare för bosättning", "lagen (2016:38)", "2016:38"),
        ("offentlighets- och sekretesslagen (2009:400)", "offentlighets- och sekretesslagen (2009:400)", "2009:400"),
        ("genom lag (2018:1197) gäller barnkonventionen", "lag (2018:1197)", "2018:1197"),
        ("i regeringsformen slås fast", "regeringsformen", "1974:152"),
    ],
)
def test_laws(text, span, norm):
    assert ("LAW", span, norm) in ents(text)


@pytest.mark.parametrize(
    "text, span, norm",
    [
        ("I rättsfallet RÅ 2004 ref. 130 fann domstolen", "RÅ 2004 ref. 130", "RÅ 2004 ref. 130"),
        ("jfr RÅ 84 2:53", "RÅ 84 2:53", "RÅ 1984 2:53"),
        ("se HFD 2021 ref. 46.", "HFD 2021 ref. 46", "HFD 2021 ref. 46"),
        ("se HFD 2014 not 85.", "HFD 2014 not 85", "HFD 2014 not 85"),
        ("se RÅ 2010 not 12.", "RÅ 2010 not 12", "RÅ 2010 not 12"),
        ("se NJA 2014 s. 499.", "NJA 2014 s. 499", "NJA 2014 s. 499"),
        ("se MIG 2013:6.", "MIG 2013:6", "MIG 2013:6"),
        ("se AD 2013 nr 63.", "AD 2013 nr 63", "AD 2013 nr 63"),
        ("dom i mål nr 4155-18 den", "mål nr 4155-18", "mål 4155-18"),
        ("Se beslutet i mål T 3592-13 från 2014.", "mål T 3592-13", "mål T 3592-13"),
        ("Målnummer: 1920-09", "1920-09", "mål 1920-09"),
    ],
)
def test_case_refs(text, span, norm):
    assert ("CASE_REF", span, norm) in ents(text)


def test_case_number_takes_the_court_named_before_it():
    assert ("CASE_REF", "mål 4155-18", "Kammarrätten i Stockholm mål 4155-18") in ents("Se Kammarrätten i Stockholm, mål 4155-18.")
    found = ents("Kammarrättens i Stockholm dom den 3 april 2019 i mål nr 8812-18 ändrades inte.")
    assert ("COURT", "Kammarrättens i Stockholm", "Kammarrätten i Stockholm") in found
    assert ("CASE_REF", "mål nr 8812-18", "Kammarrätten i Stockholm mål 8812-18") in found


@pytest.mark.parametrize(
    "text, span, norm",
    [
        ("Norrköpings kommun har", "Norrköpings kommun", "0581"),
        ("Hällefors kommuns socialtjänst", "Hällefors kommuns", "1863"),
        ("kommunen i Kramfors tog emot", "Kramfors", "2282"),
        ("flyttade från Södertälje till Hällefors", "Södertälje", "0181"),
        ("Göteborgs Stad och Bengtsfors kommun", "Göteborgs Stad", "1480"),
        ("Malmös socialtjänst", "Malmös", "1280"),
    ],
)
def test_municipalities(text, span, norm):
    assert ("KOMMUN", span, norm) in ents(text)


def test_municipality_traps():
    assert ents("Kommunerna i Stockholms län samverkar.", "KOMMUN") == []
    assert ("LAN", "Stockholms län", "01") in ents("Kommunerna i Stockholms län samverkar.")
    assert ents("Handläggaren Anna Lund ringde.", "KOMMUN") == []
    assert ents("Det kan vara svårt att hitta mark för bostäder.", "KOMMUN") == []
    assert ents("Stockholms Stadsmission driver härbärget.", "KOMMUN") == []


@pytest.mark.parametrize(
    "text, label, span, norm",
    [
        ("Länsstyrelsen i Örebro län har", "LAN", "Länsstyrelsen i Örebro län", "18"),
        ("Östergötlands län", "LAN", "Östergötlands län", "05"),
        ("Region Skåne ansvarar", "LAN", "Region Skåne", "12"),
        ("KAMMARRÄTTEN I STOCKHOLM", "COURT", "KAMMARRÄTTEN I STOCKHOLM", "Kammarrätten i Stockholm"),
        ("Högsta förvaltningsdomstolen har", "COURT", "Högsta förvaltningsdomstolen", "Högsta förvaltningsdomstolen"),
        ("avgörande från HFD", "COURT", "HFD", "Högsta förvaltningsdomstolen"),
        ("Regeringsrätten fastställde", "COURT", "Regeringsrätten", "Regeringsrätten"),
        ("Länsrätten i Skåne län", "COURT", "Länsrätten i Skåne län", "Länsrätten i Skåne län"),
        ("Socialstyrelsen bör", "AGENCY", "Socialstyrelsen", "Socialstyrelsen"),
        ("enligt SKR", "AGENCY", "SKR", "Sveriges Kommuner och Regioner"),
        ("Socialnämnden i Nacka kommun beslutade", "AGENCY", "Socialnämnden i Nacka kommun", "Socialnämnden i Nacka kommun"),
    ],
)
def test_places_courts_agencies(text, label, span, norm):
    assert (label, span, norm) in ents(text)


@pytest.mark.parametrize(
    "text, label, span, norm",
    [
        ("beslutet den 3 april 2019", "DATE", "3 april 2019", "2019-04-03"),
        ("Datum 2019-04-03", "DATE", "2019-04-03", "2019-04-03"),
        ("under mars 2022", "DATE", "mars 2022", "2022-03"),
        ("kostade 1,8 miljoner kronor", "MONEY", "1,8 miljoner kronor", "1800000 SEK"),
        ("kostade 450 000 kronor", "MONEY", "450 000 kronor", "450000 SEK"),
        ("19 mnkr", "MONEY", "19 mnkr", "19000000 SEK"),
        ("andelen var 12,4 %", "PERCENT", "12,4 %", "12.4%"),
        ("63 procent av kommunerna", "PERCENT", "63 procent", "63%"),
        ("Fi2020/04520/K", "DNR", "Fi2020/04520/K", "Fi2020/04520/K"),
        ("Dnr SN 2021/145", "DNR", "SN 2021/145", "SN 2021/145"),
        ("A.B., 840312-5637", "PERSONNUMMER", "840312-5637", "19840312-5637"),
        ("nyanlända hushåll", "TARGET_GROUP", "nyanlända", "nyanlända"),
        ("personer med missbruk eller andra sociala problem", "TARGET_GROUP", "personer med missbruk", "personer med missbruk"),
        ("i skyddat boende", "TARGET_GROUP", "skyddat boende", "skyddat boende"),
        ("hyresvärden Bergslagens Fastighets AB", "ORG", "Bergslagens Fastighets AB", "Bergslagens Fastighets AB"),
    ],
)
def test_values_and_groups(text, label, span, norm):
    assert (label, span, norm) in ents(text)


@pytest.mark.parametrize(
    "text",
    ["", " ", "\u0000\u200b\ufeff", "§§§ kap. kap. 2019-13-45 RÅ ref.", "ÅÄÖ" * 1000, "3 kap 5 $ SoL 18 SoL|| ~~ 2 a kap.", "x" * 1_000_000],
)
def test_odd_input_does_not_crash(text):
    assert isinstance(tag_text(text), list)
