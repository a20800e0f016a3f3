"""The gazetteers (municipalities, counties, courts, agencies, laws) read from the TSV
files in nlp/data/. Public facts; see data/README.md for where they were checked."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    genitive: str
    county_code: str
    official: str
    ambiguous: bool
    group: str = ""  # SKR municipality group 2023 ("A1".."C9"), for comparing kinds of municipality
    group_name: str = ""


@dataclass(frozen=True)
class County:
    code: str
    name: str  # "Östergötlands län"
    short: str  # "Östergötland"
    board_names: tuple[str, ...]
    region_names: tuple[str, ...]
    aliases: tuple[str, ...] = ()  # other names of the county ("Sörmland")


@dataclass(frozen=True)
class Court:
    name: str
    level: str
    kind: str
    aliases: tuple[str, ...]
    active: str


@dataclass(frozen=True)
class Agency:
    name: str
    aliases: tuple[str, ...]
    kind: str


@dataclass(frozen=True)
class Law:
    sfs: str
    name: str
    aliases: tuple[str, ...]
    kind: str


def _rows(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(fh, delimiter="\t")
            if any((v or "").strip() for v in row.values())
        ]


def _groups() -> dict[str, tuple[str, str]]:
    """code -> (SKR group, group name); the file starts with a '#' line naming its source."""
    with open(DATA / "municipality_groups.tsv", encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return {r["code"].zfill(4): (r["group"], r["group_name"]) for r in csv.DictReader(lines, delimiter="\t")}


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split("|") if v.strip())


@dataclass
class Gazetteer:
    municipalities: dict[str, Municipality] = field(default_factory=dict)  # by code
    counties: dict[str, County] = field(default_factory=dict)  # by code
    courts: dict[str, Court] = field(default_factory=dict)  # by canonical name
    agencies: dict[str, Agency] = field(default_factory=dict)
    laws: dict[str, Law] = field(default_factory=dict)  # by SFS number

    def municipality_name(self, code: str) -> str | None:
        m = self.municipalities.get(code)
        return m.name if m else None

    def display_name(self, label: str, norm: str) -> str | None:
        """A readable name for a canonical id where the id itself is a code
        (municipality and county codes, SFS numbers); None where the id reads well."""
        if label == "KOMMUN":
            return self.municipality_name(norm)
        if label == "LAN" and norm in self.counties:
            return self.counties[norm].name
        if label == "LAW" and norm in self.laws:
            return self.laws[norm].name
        if label == "PROVISION":
            sfs, _, where = norm.partition(" ")
            law = self.laws.get(sfs)
            if law:
                # "3 kap. 5 § SoL": the abbreviation, else the shortest one-word name
                abbrev = [a for a in law.aliases if len(a) <= 6 and not a.islower() and " " not in a]
                words = sorted((a for a in (law.name, *law.aliases) if " " not in a), key=len)
                return f"{where} {(abbrev or words or [law.name])[0]}".strip()
        return None

    def municipality_of_issuer(self, issuer: str | None) -> Municipality | None:
        """The municipality that issued a document ("Hällefors kommun", "Malmö stad",
        "Göteborgs Stad"), or None when the issuer is not a municipality."""
        if not issuer:
            return None
        key = " ".join(issuer.split()).lower()
        for m in self.municipalities.values():
            names = {m.official.lower(), f"{m.genitive} kommun".lower(), f"{m.name} stad".lower(),
                     f"{m.genitive} stad".lower(), f"{m.name} kommun".lower()}
            if key in names:
                return m
        return None

    def county_of(self, municipality_code: str) -> str | None:
        m = self.municipalities.get(municipality_code)
        return m.county_code if m else None

    def law_names(self) -> dict[str, str]:
        """Every way a law is written (name, abbreviation, aliases) -> SFS number."""
        out = {}
        for law in self.laws.values():
            for n in (law.name, *law.aliases):
                if n and not n.startswith("("):
                    out[n] = law.sfs
                    # the genitive of a name ("socialtjänstlagens", "regeringsformens")
                    if not n.isupper() and not n.endswith(("s", "x", ")")) and " " not in n:
                        out[n + "s"] = law.sfs
        return out


@lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    g = Gazetteer()
    groups = _groups()
    for r in _rows("municipalities.tsv"):
        code = r["code"].zfill(4)
        group, group_name = groups.get(code, ("", ""))
        g.municipalities[code] = Municipality(
            code=code, name=r["name"], genitive=r.get("genitive") or r["name"],
            county_code=r["county_code"].zfill(2), official=r.get("official") or f"{r['name']} kommun",
            ambiguous=r.get("ambiguous", "0") in ("1", "true", "yes"), group=group, group_name=group_name,
        )
    for r in _rows("counties.tsv"):
        code = r["code"].zfill(2)
        g.counties[code] = County(
            code, r["name"], r["short"], _split(r.get("board_names", "")), _split(r.get("region_names", "")), _split(r.get("aliases", ""))
        )
    for r in _rows("courts.tsv"):
        g.courts[r["name"]] = Court(r["name"], r.get("level", ""), r.get("kind", ""), _split(r.get("aliases", "")), r.get("active", ""))
    for r in _rows("agencies.tsv"):
        g.agencies[r["name"]] = Agency(r["name"], _split(r.get("aliases", "")), r.get("kind", ""))
    for r in _rows("laws.tsv"):
        g.laws[r["sfs"]] = Law(r["sfs"], r["name"], _split(r.get("aliases", "")), r.get("kind", ""))
    return g
