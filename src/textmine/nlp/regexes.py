"""Every regular expression of the entity tagger, in one place (as eyecite keeps its
citation patterns in regexes.py). Each pattern family has its own tests in
tests/test_nlp_patterns.py built from citation forms found in real documents."""

from __future__ import annotations

import re

MONTHS = {
    "januari": 1, "februari": 2, "mars": 3, "april": 4, "maj": 5, "juni": 6,
    "juli": 7, "augusti": 8, "september": 9, "oktober": 10, "november": 11, "december": 12,
}
MONTH_ALT = "|".join(MONTHS)
ORDINALS = {"första": 1, "andra": 2, "tredje": 3, "fjärde": 4, "femte": 5, "sjätte": 6, "sjunde": 7, "åttonde": 8}

# --- dates -------------------------------------------------------------------------
ISO_DATE = re.compile(r"(?<![\d-])((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![\d-])")
LONG_DATE = re.compile(r"\b([1-9]|[12]\d|3[01])(?:e|:e)?\s(" + MONTH_ALT + r")\s((?:19|20)\d{2})\b", re.IGNORECASE)
MONTH_YEAR = re.compile(r"\b(" + MONTH_ALT + r")\s((?:19|20)\d{2})\b", re.IGNORECASE)

# --- money and percent -------------------------------------------------------------
# "1,8 miljoner kronor", "450 000 kronor", "19 mnkr", "12 500 kr", "3,8 miljarder kronor"
NUMBER = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
MONEY = re.compile(
    r"(?<![\d,])(" + NUMBER + r")\s?"
    r"(?:(miljoner|miljon|miljarder|miljard|tusen)\s(kronor|kr)\b|(mnkr|mkr|mdkr|tkr|msek)\b|(kronor|kr)(?:\.|\b)|(SEK)\b)",
    re.IGNORECASE,
)
MONEY_SCALE = {"miljon": 1e6, "miljoner": 1e6, "miljard": 1e9, "miljarder": 1e9, "tusen": 1e3,
               "mnkr": 1e6, "mkr": 1e6, "msek": 1e6, "mdkr": 1e9, "tkr": 1e3}
PERCENT = re.compile(r"(?<![\d,])(\d+(?:,\d+)?)\s?(%|procent\b)", re.IGNORECASE)

# --- identifiers ---------------------------------------------------------------------
PERSONNUMMER = re.compile(r"(?<![\d-])((?:19|20)?\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01]|6[1-9]|[78]\d|9[01])([-+])(\d{4})(?![\d-])")
# further diarienummer after the first: "dnr BUN 2023/77 och VON 2023/301"
DNR_MORE = re.compile(r"^(?:,\s?|\s(?:och|samt)\s)((?:[A-ZÅÄÖ]{1,5}\s+)?\d{2,4}[/:-]\d{1,6}(?:/[A-ZÅÄÖ]{1,4})?)\b")
# Department diarienummer: Fi2020/04520/K, S2022/02311, Ju2019/123
DEPT_DNR = re.compile(r"\b((?:Fi|S|Ju|A|N|U|Ku|Fö|UD|M|I|KN|LI|IJ|Jo|SB|KLI)\d{4}/\d{3,5}(?:/[A-ZÅÄÖ]{1,6})?)\b")
# Labelled: "Dnr SN 2021/145", "Vårt dnr: 21/00962", "DIARIENR 2020/43-5", "Dnr 851-5120-2021"
LABELLED_DNR = re.compile(
    r"\b(?:dnr|diarienr|diarienummer|vårt dnr|ert dnr|vår beteckning|er beteckning)\.?\s?:?\s+"
    r"((?:[A-ZÅÄÖ]{1,5}\s+)?\d[\d\s]{0,4}[/.:-]\d[\d/.:-]{0,12}\d(?:/[A-ZÅÄÖ]{1,4})?)",
    re.IGNORECASE,
)

# --- case references -------------------------------------------------------------------
# Published cases: RÅ 2004 ref. 130, RÅ 2010 not 12, RÅ 84 2:53, HFD 2021 ref. 46,
# HFD 2014 not 85, NJA 2014 s. 499, MIG 2013:6, AD 2013 nr 63, MÖD 2015:3, RH 2010:1
REPORTER_REF = re.compile(r"\b(RÅ|HFD)\s?(\d{2}|\d{4})\s?(ref|not)\.?\s?(\d{1,4})\b")
RA_OLD = re.compile(r"\bRÅ\s?(\d{2})\s(\d{1,2}):(\d{1,4})\b")
NJA = re.compile(r"\bNJA\s?(\d{4})\s?s\.\s?(\d{1,4})\b")
COLON_REPORTER = re.compile(r"\b(MIG|MÖD|RH|PMÖD|MD)\s?(\d{4}):(\d{1,4})\b")
AD_REF = re.compile(r"\bAD\s?(\d{4})\s?nr\.?\s?(\d{1,4})\b")
# Case numbers: "mål nr 4155-18", "målnummer: 1920-09", "mål 4155-18", "T 3592-13", "mål nr T 3592-13"
CASE_NUMBER = re.compile(
    r"\b(?:mål(?:et)?|målen)\s?(?:nr\.?|nummer)?\s?:?\s?((?:[BTÖ]|UM)\s?)?(\d{1,6}-\d{2})\b"
    r"|\bmålnummer\s?:?\s?((?:[BTÖ]|UM)\s?)?(\d{1,6}-\d{2})\b"
    r"|\bmålnr\.?\s?:?\s?((?:[BTÖ]|UM)\s?)?(\d{1,6}-\d{2})\b",
    re.IGNORECASE,
)
HD_CASE_NUMBER = re.compile(r"(?<![\w-])([BTÖ])\s(\d{1,5}-\d{2})\b")
# further numbers after the first: "mål nr 4155-18 och 4156-18"
CASE_NUMBER_MORE = re.compile(r"^(?:,\s?|\s(?:och|samt)\s)((?:[BTÖ]\s)?\d{1,6}-\d{2})\b")

# --- laws and provisions ---------------------------------------------------------------
SFS = r"\(?(\d{4}:\d{1,4})\)?"
SFS_IN_PARENS = re.compile(r"\((\d{4}:\d{1,4})(?:,\s?[\wåäöÅÄÖ]{2,8})?\)")
SFS_PARENS = r"\(\d{4}:\d{1,4}(?:,\s?[\wåäöÅÄÖ]{2,8})?\)"  # "(2009:400)", "(2009:400, OSL)"
# A generic law cited by number: "lagen (2016:38)", "förordningen (2016:39)", "lag (2018:1197)"
GENERIC_LAW = re.compile(r"\b(lagen|lag|förordningen|förordning|balken|kungörelsen)\s\((\d{4}:\d{1,4})\)", re.IGNORECASE)
CHAPTER = r"(?P<chapter>\d{1,2})\s?(?P<chapter_letter>[a-z])?\s?(?:kap\.|kapitlet|kapitel)"
SECTION_ITEM = r"\d{1,3}(?:\s?[a-z](?![a-zåäö]))?"
SECTIONS = SECTION_ITEM + r"(?:\s?(?:,\s?|\soch\s|\s?[–—-]\s?)" + SECTION_ITEM + r")*"
STYCKE = r"(?:(?P<stycke_word>första|andra|tredje|fjärde|femte|sjätte|sjunde|åttonde)\sstycket|(?P<stycke_num>\d{1,2})\s?st\.)"
PUNKT = r"(?:(?:punkt|p\.)\s?\d{1,2}|\d{1,2}\s?p\.)"


def provision_regex(law_alternation: str) -> re.Pattern:
    """Provision with optional chapter, sections, stycke, punkt and an optional law that
    follows ("4 kap. 1 § första stycket socialtjänstlagen (2001:453)"). The law part is
    built from the law gazetteer so that named laws and abbreviations are recognised."""
    law = (
        r"(?P<law>(?:" + law_alternation + r")(?:\s" + SFS_PARENS + r")?"
        r"|(?:lagen|förordningen|balken|lag|förordning)\s" + SFS_PARENS + r"|" + SFS_PARENS
        + r"|samma\s(?:lag|förordning|balk)|den\s(?:lagen|förordningen))"
    )
    sections = r"(?P<sections>" + SECTIONS + r")\s?(?P<sign>§§|§)"
    pattern = (
        r"(?<![\w§])(?:" + CHAPTER + r"\s?)?" + sections
        + r"(?:\s" + STYCKE + r")?(?:\s" + PUNKT + r")?"
        + r"(?:\s(?:i\s)?" + law + r")?"
        + r"|(?<![\w§])" + CHAPTER.replace("?P<chapter>", "?P<chapter_only>").replace("?P<chapter_letter>", "?P<chapter_only_letter>")
        + r"\s(?:i\s)?(?P<law_after_chapter>" + law[len("(?P<law>"):]
    )
    return re.compile(pattern)


def is_abbreviation(name: str) -> bool:
    return name.isupper() or (any(c.isupper() for c in name[1:]) and len(name) <= 6)


def law_alternation(names: list[str]) -> str:
    """Longest first, word-bounded; abbreviations (SoL, OSL) stay case-sensitive, names
    are matched case-insensitively. Two plain alternations under one inline flag each
    keep the regex engine's prefix optimisations (a per-name inline flag cost 4x)."""
    names = sorted(set(names), key=len, reverse=True)
    abbrevs = [re.escape(n) for n in names if is_abbreviation(n)]
    words = [re.escape(n) for n in names if not is_abbreviation(n)]
    parts = []
    if words:
        parts.append(r"(?i:\b(?:" + "|".join(words) + r"))(?![\wåäöÅÄÖ])")
    if abbrevs:
        parts.append(r"\b(?:" + "|".join(abbrevs) + r")(?::s)?\b")
    return "|".join(parts)
