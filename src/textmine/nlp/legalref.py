"""Legal references and identifiers found by pattern: laws, provisions, case references,
diarienummer, personnummer, dates, money and percentages.

Entry point: `find_candidates(text, law_names)` -> list of Candidate(start, end, label,
norm), possibly overlapping; the pipeline keeps the longest. Provisions that name no law
get `sfs=None`; `resolve_provision_laws` fills them from the nearest law before them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from . import regexes as rx


@dataclass
class Candidate:
    start: int
    end: int
    label: str
    norm: str
    data: dict = field(default_factory=dict)  # PROVISION: sfs, chapter, sections, stycke


def find_candidates(text: str, law_names: dict[str, str], provision_re: re.Pattern, law_re: re.Pattern) -> list[Candidate]:
    out: list[Candidate] = []
    out += find_provisions(text, law_names, provision_re)
    out += find_laws(text, law_names, law_re)
    out += find_case_refs(text)
    out += find_dates(text)
    out += find_money(text)
    out += find_percent(text)
    out += find_dnr(text)
    out += find_personnummer(text)
    out = merge_genitive_law(text, out)
    _share_law_forward(text, sorted((c for c in out if c.label == "PROVISION"), key=lambda c: c.start))
    return out


# --- laws and provisions --------------------------------------------------------------


def law_sfs(law_text: str | None, law_names: dict[str, str]) -> str | None:
    """'socialtjänstlagen (2001:453)' -> '2001:453'; 'SoL' -> '2001:453'; 'lagen (2016:38)' -> '2016:38'."""
    if not law_text:
        return None
    m = rx.SFS_IN_PARENS.search(law_text)
    if m:
        return m.group(1)
    key = law_text.strip()
    if key.endswith(":s"):  # "SoL:s"
        key = key[:-2]
    if key in law_names:
        return law_names[key]
    low = key.lower()
    for name, sfs in law_names.items():
        if name.lower() == low:
            return sfs
    return None


def _section_norm(sections: str, sign: str) -> str:
    s = re.sub(r"\s+", " ", sections.strip())
    s = re.sub(r"(\d)\s([a-z])\b", r"\1\2", s)  # "8 a" -> "8a"
    s = re.sub(r"\s?[–—-]\s?", "–", s)
    s = re.sub(r"\s?,\s?|\soch\s", ", ", s)
    return f"{s} {sign}"


def provision_norm(sfs: str | None, chapter: str | None, sections: str | None, sign: str | None, stycke: int | None) -> str:
    parts = []
    if sfs:
        parts.append(sfs)
    if chapter:
        parts.append(f"{chapter} kap.")
    if sections:
        parts.append(_section_norm(sections, sign or "§"))
    if stycke:
        parts.append(f"{stycke} st.")
    return " ".join(parts)


def find_provisions(text: str, law_names: dict[str, str], provision_re: re.Pattern) -> list[Candidate]:
    out = []
    for m in provision_re.finditer(text):
        g = m.groupdict()
        if g.get("chapter_only"):
            chapter = g["chapter_only"] + (g.get("chapter_only_letter") or "")
            law = g.get("law_after_chapter")
            sections = sign = None
            stycke = None
        else:
            chapter = (g["chapter"] + (g.get("chapter_letter") or "")) if g.get("chapter") else None
            law = g.get("law")
            sections, sign = g.get("sections"), g.get("sign")
            stycke = rx.ORDINALS.get((g.get("stycke_word") or "").lower()) or (int(g["stycke_num"]) if g.get("stycke_num") else None)
        start, end = m.start(), m.end()
        same_law = bool(law) and re.match(r"^(samma|den)\s", law) is not None  # "samma lag": the law before
        sfs = None if same_law else law_sfs(law, law_names)
        if law and sfs is None and not same_law:  # a law we do not know: keep the provision, drop the law part
            group = "law" if g.get("law") else "law_after_chapter"
            head = text[start:m.start(group)].rstrip()
            if head.endswith(" i"):
                head = head[:-2].rstrip()
            end = start + len(head)
        data = {"sfs": sfs, "chapter": chapter, "sections": sections, "sign": sign, "stycke": stycke, "law_named": bool(sfs)}
        out.append(Candidate(start, end, "PROVISION", provision_norm(sfs, chapter, sections, sign, stycke), data))
    return out


def _share_law_forward(text: str, provisions: list[Candidate]) -> None:
    """'4 kap. 1 § och 3 kap. 5 § socialtjänstlagen': the law named after the last of
    several coordinated provisions applies to all of them."""
    for i in range(len(provisions) - 2, -1, -1):
        a, b = provisions[i], provisions[i + 1]
        if a.data.get("law_named") or not b.data.get("law_named"):
            continue
        if re.fullmatch(r"\s*(?:,|och|samt|respektive|eller)\s*", text[a.end:b.start]):
            d = a.data
            d["sfs"] = b.data["sfs"]
            d["law_named"] = True
            a.norm = provision_norm(d["sfs"], d["chapter"], d["sections"], d["sign"], d["stycke"])


def merge_genitive_law(text: str, cands: list[Candidate]) -> list[Candidate]:
    """'regeringsformens 1 kap. 2 §', 'socialtjänstlagens 4 kap. 1 §': a law in the
    genitive right before a provision without a law is part of that provision."""
    laws = {c.end: c for c in cands if c.label == "LAW" and c.start < c.end and text[c.end - 1] == "s"}
    out = list(cands)
    for p in cands:
        if p.label != "PROVISION" or p.data.get("law_named"):
            continue
        law = laws.get(p.start - 1)
        if law is None or text[p.start - 1] != " ":
            continue
        d = p.data
        d["sfs"] = law.norm
        d["law_named"] = True
        merged = Candidate(law.start, p.end, "PROVISION", provision_norm(law.norm, d["chapter"], d["sections"], d["sign"], d["stycke"]), d)
        out.remove(p)
        if law in out:
            out.remove(law)
        out.append(merged)
    return out


def find_laws(text: str, law_names: dict[str, str], law_re: re.Pattern) -> list[Candidate]:
    out = []
    for m in rx.GENERIC_LAW.finditer(text):
        out.append(Candidate(m.start(), m.end(), "LAW", m.group(2)))
    for m in law_re.finditer(text):
        sfs = law_sfs(m.group(0), law_names)
        if sfs:
            out.append(Candidate(m.start(), m.end(), "LAW", sfs))
    return out


# --- case references ----------------------------------------------------------------------


def _year(y: str) -> str:
    if len(y) == 4:
        return y
    return ("19" if int(y) > 30 else "20") + y


def find_case_refs(text: str) -> list[Candidate]:
    out = []
    for m in rx.REPORTER_REF.finditer(text):
        reporter, year, kind, num = m.groups()
        out.append(Candidate(m.start(), m.end(), "CASE_REF", f"{reporter} {_year(year)} {'ref.' if kind == 'ref' else 'not'} {num}"))
    for m in rx.RA_OLD.finditer(text):
        out.append(Candidate(m.start(), m.end(), "CASE_REF", f"RÅ {_year(m.group(1))} {m.group(2)}:{m.group(3)}"))
    for m in rx.NJA.finditer(text):
        out.append(Candidate(m.start(), m.end(), "CASE_REF", f"NJA {m.group(1)} s. {m.group(2)}"))
    for m in rx.COLON_REPORTER.finditer(text):
        out.append(Candidate(m.start(), m.end(), "CASE_REF", f"{m.group(1)} {m.group(2)}:{m.group(3)}"))
    for m in rx.AD_REF.finditer(text):
        out.append(Candidate(m.start(), m.end(), "CASE_REF", f"AD {m.group(1)} nr {m.group(2)}"))
    for m in rx.CASE_NUMBER.finditer(text):
        groups = m.groups()
        prefix = next((g for g in (groups[0], groups[2], groups[4]) if g), None)
        number = next(g for g in (groups[1], groups[3], groups[5]) if g)
        norm_number = f"{prefix.strip()} {number}" if prefix else number
        # "Målnummer: 3310-22" is a label and a number: the mention is the number
        start = m.start()
        if re.match(r"(?i)mål(?:nummer|nr)", m.group(0)):
            start = m.start(next(i for i in (2, 4, 6) if m.group(i))) - (len(prefix) if prefix else 0)
        out.append(Candidate(start, m.end(), "CASE_REF", f"mål {norm_number}", {"case_number": norm_number}))
        # "mål nr 4155-18 och 4156-18": the following numbers are case numbers too
        pos = m.end()
        while True:
            more = rx.CASE_NUMBER_MORE.match(text[pos:])
            if not more:
                break
            num = " ".join(more.group(1).split())
            s = pos + more.start(1)
            out.append(Candidate(s, s + len(more.group(1)), "CASE_REF", f"mål {num}", {"case_number": num}))
            pos += more.end()
    for m in rx.HD_CASE_NUMBER.finditer(text):
        num = f"{m.group(1)} {m.group(2)}"
        out.append(Candidate(m.start(), m.end(), "CASE_REF", f"mål {num}", {"case_number": num}))
    return out


# --- dates, money, percent, identifiers -------------------------------------------------


def find_dates(text: str) -> list[Candidate]:
    out = []
    for m in rx.ISO_DATE.finditer(text):
        if _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3))):
            out.append(Candidate(m.start(), m.end(), "DATE", m.group(0)))
    for m in rx.LONG_DATE.finditer(text):
        y, mo, d = int(m.group(3)), rx.MONTHS[m.group(2).lower()], int(m.group(1))
        if _valid_date(y, mo, d):
            out.append(Candidate(m.start(), m.end(), "DATE", f"{y}-{mo:02d}-{d:02d}"))
    for m in rx.MONTH_YEAR.finditer(text):
        y, mo = int(m.group(2)), rx.MONTHS[m.group(1).lower()]
        out.append(Candidate(m.start(), m.end(), "DATE", f"{y}-{mo:02d}"))
    return out


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
        return True
    except ValueError:
        return False


def parse_number(s: str) -> float:
    return float(re.sub(r"[\s\u00a0\u202f]", "", s).replace(",", "."))


def find_money(text: str) -> list[Candidate]:
    out = []
    for m in rx.MONEY.finditer(text):
        end = m.end()
        if text[m.start():end].endswith("."):  # "6 590 kr." at a sentence end: the period is punctuation
            end -= 1
        value = parse_number(m.group(1))
        scale_word = (m.group(2) or m.group(4) or "").lower()
        value *= rx.MONEY_SCALE.get(scale_word, 1)
        out.append(Candidate(m.start(), end, "MONEY", f"{int(round(value))} SEK"))
    return out


def find_percent(text: str) -> list[Candidate]:
    out = []
    for m in rx.PERCENT.finditer(text):
        value = parse_number(m.group(1))
        norm = f"{value:g}%"
        out.append(Candidate(m.start(), m.end(), "PERCENT", norm))
    return out


def find_dnr(text: str) -> list[Candidate]:
    out = []
    for m in rx.DEPT_DNR.finditer(text):
        out.append(Candidate(m.start(1), m.end(1), "DNR", m.group(1)))
    for m in rx.LABELLED_DNR.finditer(text):
        value = m.group(1).rstrip(".,;:")
        start = m.start(1)
        out.append(Candidate(start, start + len(value), "DNR", " ".join(value.split())))
        pos = start + len(value)
        while True:
            more = rx.DNR_MORE.match(text[pos:])
            if not more:
                break
            s = pos + more.start(1)
            out.append(Candidate(s, s + len(more.group(1)), "DNR", " ".join(more.group(1).split())))
            pos += more.end()
    return out


def find_personnummer(text: str) -> list[Candidate]:
    out = []
    this_year = date.today().year % 100
    for m in rx.PERSONNUMMER.finditer(text):
        yy, mm, dd, sep, tail = m.groups()
        if len(yy) == 2:
            century = "19" if int(yy) > this_year or sep == "+" else "20"
            yy = century + yy
        out.append(Candidate(m.start(), m.end(), "PERSONNUMMER", f"{yy}{mm}{dd}-{tail}"))
    return out


def resolve_provision_laws(entities, start_law: str | None = None) -> str | None:
    """Give provisions that name no law the nearest law named before them (LAW or a
    provision that names its law), in reading order. Returns the last law seen, so the
    caller can carry it into the next block."""
    current = start_law
    for ent in entities:
        if ent.label == "LAW":
            current = ent.norm
        elif ent.label == "PROVISION":
            data = ent.data or {}
            if data.get("law_named"):
                current = data.get("sfs")
            elif current:
                data["sfs"] = current
                ent.norm = provision_norm(current, data.get("chapter"), data.get("sections"), data.get("sign"), data.get("stycke"))
    return current
