"""Analysis of the codings: code frequencies across kinds of document and municipality,
code co-occurrence, and agreement between two coders per code.

The unit throughout is the passage: a code counts once per passage however many spans
of it were coded, which is what a comparison across documents or coders needs."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .agreement import Agreement, binary_agreement, krippendorff_alpha
from .coding import coder as get_coder
from .coding import flat_codebook
from .errors import TextmineError
from .nlp.gazetteer import load_gazetteer
from .store import Store

# dimensions a researcher compares themes across; value names are explained in the UI
DIMENSIONS = {
    "doc_type": "document type",
    "county": "county",
    "municipality_group": "SKR municipality group of the issuing municipality",
    "respondent_size": "size of the respondent's municipality (quotes)",
    "respondent_role": "sending or receiving municipality (quotes)",
    "respondent": "kind of respondent (quotes)",
}
UNKNOWN = "okänd"
# the UI and the charts are in Swedish
DIMENSIONS_SV = {
    "doc_type": "dokumenttyp", "county": "län", "municipality_group": "kommungrupp (SKR)",
    "respondent_size": "kommunens storlek (citat)", "respondent_role": "avsändande/mottagande (citat)",
    "respondent": "typ av respondent (citat)", "cooccurrence": "samförekomst",
}
VALUES_SV = {
    "smaller": "mindre kommun", "medium": "mellanstor kommun", "larger": "större kommun",
    "sending": "avsändande", "receiving": "mottagande", "municipality": "kommun", "county_board": "länsstyrelse",
    "agency": "myndighet", "individual": "enskild person", "other": "annan", "not a quote": "ej citat",
}


def value_sv(value: str, dimension: str = "") -> str:
    """A dimension's value in Swedish ("other" is "Övrigt" as a document type, "annan"
    as a kind of respondent)."""
    from .webview import DOC_TYPES

    if dimension == "doc_type" and value in DOC_TYPES:
        return DOC_TYPES[value][0]
    return VALUES_SV.get(value) or DOC_TYPES.get(value, (value,))[0]


class AnalysisError(TextmineError):
    """An analysis that cannot be made with what was asked for."""


@dataclass
class Table:
    """Rows are codes, columns values of a dimension; cells count coded passages."""
    dimension: str
    codes: list[str]
    columns: list[str]
    cells: dict[str, dict[str, int]]
    totals: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"dimension": self.dimension, "codes": self.codes, "columns": self.columns,
                "cells": self.cells, "totals": self.totals}


def _unit_rows(store: Store, coder_name: str | None) -> list[dict]:
    coder_id = get_coder(store, coder_name, create=False)["id"] if coder_name else None
    return store.codings(coder_id=coder_id)


def passage_dimension_values(store: Store, rows: list[dict], dimension: str) -> dict[str, str]:
    """passage_id -> the value of a dimension for the passage."""
    if dimension not in DIMENSIONS:
        raise AnalysisError(f"unknown dimension '{dimension}': use one of {', '.join(DIMENSIONS)}")
    gaz = load_gazetteer()
    out: dict[str, str] = {}
    if dimension.startswith("respondent"):
        quotes = store.quote_for(list({r["passage_id"] for r in rows}))
        for r in rows:
            q = quotes.get(r["passage_id"])
            if dimension == "respondent_size":
                out[r["passage_id"]] = (q or {}).get("size") or UNKNOWN
            elif dimension == "respondent_role":
                out[r["passage_id"]] = (q or {}).get("role") or UNKNOWN
            else:
                out[r["passage_id"]] = (q or {}).get("organisation") or ("not a quote" if q is None else UNKNOWN)
        return out
    issuers = {d["id"]: d for d in store.list_documents()} if dimension == "municipality_group" else {}
    for r in rows:
        if dimension == "doc_type":
            out[r["passage_id"]] = r["doc_type"] or UNKNOWN
        elif dimension == "county":
            out[r["passage_id"]] = (gaz.counties[r["county"]].name if r["county"] in gaz.counties else UNKNOWN)
        else:
            doc = issuers.get(r["document"])
            m = gaz.municipality_of_issuer(doc["issuer"]) if doc else None
            out[r["passage_id"]] = f"{m.group} {m.group_name}" if m and m.group else UNKNOWN
    return out


def frequencies(store: Store, dimension: str = "doc_type", *, coder_name: str | None = None) -> Table:
    """How many passages carry each code, split by a dimension."""
    rows = _unit_rows(store, coder_name)
    values = passage_dimension_values(store, rows, dimension)
    seen: set[tuple[str, str]] = set()
    cells: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        key = (r["code_name"], r["passage_id"])
        if key in seen:
            continue
        seen.add(key)
        cells[r["code_name"]][values[r["passage_id"]]] += 1
    codes = [c.name for c in flat_codebook(store) if c.name in cells]
    columns = sorted({v for c in cells.values() for v in c}, key=lambda v: (v == UNKNOWN, v))
    return Table(dimension, codes, columns, {c: dict(cells[c]) for c in codes},
                 {c: sum(cells[c].values()) for c in codes})


def cooccurrence(store: Store, *, coder_name: str | None = None) -> Table:
    """How many passages carry both of two codes (the diagonal: passages with the code)."""
    rows = _unit_rows(store, coder_name)
    by_passage: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_passage[r["passage_id"]].add(r["code_name"])
    codes = [c.name for c in flat_codebook(store) if any(c.name in s for s in by_passage.values())]
    cells = {a: {b: 0 for b in codes} for a in codes}
    for names in by_passage.values():
        for a in names:
            for b in names:
                cells[a][b] += 1
    return Table("cooccurrence", codes, codes, cells, {c: cells[c][c] for c in codes})


# --- agreement ------------------------------------------------------------------------

@dataclass
class CodeAgreement:
    code: str
    agreement: Agreement
    only_a: list[str]
    only_b: list[str]
    both: int

    def to_json(self) -> dict:
        a = self.agreement
        r = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {"code": self.code, "units": a.n_units, "both": self.both, "only_a": len(self.only_a),
                "only_b": len(self.only_b), "percent": r(a.percent), "kappa": r(a.kappa), "alpha": r(a.alpha)}


@dataclass
class AgreementReport:
    coder_a: str
    coder_b: str
    units: list[str]
    codes: list[CodeAgreement]
    overall_alpha: float | None
    disagreements: list[dict]

    def to_json(self) -> dict:
        return {"coder_a": self.coder_a, "coder_b": self.coder_b, "units": len(self.units),
                "overall_alpha": None if self.overall_alpha is None else round(self.overall_alpha, 4),
                "codes": [c.to_json() for c in self.codes], "disagreements": self.disagreements}


def agreement(store: Store, coder_a: str, coder_b: str) -> AgreementReport:
    """Per code, over the passages both coders coded (with any code): did each apply
    the code? Kappa and alpha on those yes/no decisions, and the list of passages where
    they differ, to resolve."""
    a = get_coder(store, coder_a, create=False)
    b = get_coder(store, coder_b, create=False)
    if a["id"] == b["id"]:
        raise AnalysisError("agreement needs two different coders")
    rows_a, rows_b = store.codings(coder_id=a["id"]), store.codings(coder_id=b["id"])
    units = sorted({r["passage_id"] for r in rows_a} & {r["passage_id"] for r in rows_b})
    unit_set = set(units)
    applied: dict[str, dict[str, set[str]]] = defaultdict(lambda: {"a": set(), "b": set()})
    for who, rows in (("a", rows_a), ("b", rows_b)):
        for r in rows:
            if r["passage_id"] in unit_set:
                applied[r["code_name"]][who].add(r["passage_id"])
    texts = {r["passage_id"]: r for r in rows_a + rows_b}
    out, disagreements = [], []
    for c in flat_codebook(store):
        if c.name not in applied:
            continue
        sa, sb = applied[c.name]["a"], applied[c.name]["b"]
        out.append(CodeAgreement(c.name, binary_agreement(sa, sb, units), sorted(sa - sb), sorted(sb - sa), len(sa & sb)))
        for pid in sorted(sa ^ sb):
            r = texts[pid]
            disagreements.append({
                "passage_id": pid, "code": c.name, "applied_by": a["name"] if pid in sa else b["name"],
                "missing_for": b["name"] if pid in sa else a["name"], "title": r["title"], "page": r["page_start"],
                "document": r["document"], "text": (r["passage_text"] or r["text"])[:400],
            })
    # one alpha over every (unit, code) decision: the project's overall reliability
    overall = krippendorff_alpha([[pid in applied[c]["a"], pid in applied[c]["b"]] for c in applied for pid in units])
    return AgreementReport(a["name"], b["name"], units, out, overall, disagreements)
