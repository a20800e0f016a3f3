"""Small, exact cases of line joining and metadata rules."""

from textmine.parse.layout import join_lines
from textmine.parse.metadata import parse_date, uncap_lines, _court_name


def joined(*lines):
    return join_lines(list(lines), [[] for _ in lines])[0]


def test_hyphenation_mended_real_dashes_kept():
    assert joined("på bostads-", "marknaden i länet") == "på bostadsmarknaden i länet"
    assert joined("inom social-", "och arbetsmarknadsnämnden") == "inom social- och arbetsmarknadsnämnden"
    assert joined("andra EU-", "länder") == "andra EU-länder"
    assert joined("åren 2019-", "2020") == "åren 2019-2020"
    assert joined("försörjnings\u00ad", "stöd") == "försörjningsstöd"
    assert joined("slut –", "början") == "slut – början"


def test_dates_and_names():
    assert parse_date("Stockholm den 3 april 2019") == "2019-04-03"
    assert parse_date("Datum: 2022-11-30") == "2022-11-30"
    assert parse_date("2022-13-40") is None
    assert _court_name("KAMMARRÄTTEN I STOCKHOLM") == "Kammarrätten i Stockholm"
    assert _court_name("högsta förvaltningsdomstolen") == "Högsta förvaltningsdomstolen"
    assert uncap_lines("PERSTORPS KOMMUN\nText") == "Perstorps kommun\nText"
