"""Coded segments out of textmine and back in: CSV/XLSX tables, REFI-QDA projects
(.qdpx) and codebooks (.qdc), so researchers continue in NVivo, ATLAS.ti, MAXQDA or
QualCoder.

Each stored document that has codings becomes one text source: its passages in order,
separated by a blank line, so a coding's span maps to a character range of the source.
Personal identity numbers and private persons' names are pseudonymised on export
unless asked not to; the offsets are carried through the replacement."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from . import qda
from .coding import (
    Code, CodingError, assign, codebook, description_for_exchange, import_codebook_rows, new_guid, read_codebook_csv,
    split_exchange_description,
)
from .errors import TextmineError
from .nlp.gazetteer import load_gazetteer
from .store import Store

SEPARATOR = "\n\n"
SEGMENT_COLUMNS = ("document", "title", "page", "doc_type", "county", "coder", "code", "code_path", "start", "end",
                   "text", "passage_id", "path")
PERSONNUMMER_RE = re.compile(r"(?<![\d-])(?:19|20)?\d{6}[-+]\d{4}(?!\d)")
NAME_WORD = r"[A-ZÅÄÖ][a-zåäöéü]+(?:-[A-ZÅÄÖ][a-zåäöéü]+)?"
INITIALS_RE = re.compile(r"(?<![\wÅÄÖåäö.])(?:[A-ZÅÄÖ]\.){2,3}(?![\wÅÄÖåäö])")
# "Ringvägen 41 C, 151 37 Södertälje", "Nygatan 14 A lgh 1102, 872 30 Kramfors"
STREET_ADDRESS_RE = re.compile(
    r"(?<!Box )\b[A-ZÅÄÖ][a-zåäöé]+(?:vägen|gatan|gränd|stigen|backen|torget|allén|plan|leden|väg|gata)"
    r"\s+\d+(?:\s?[A-Z])?(?:\s+lgh\s+\d+)?(?:,?\s+\d{3}\s?\d{2}\s+[A-ZÅÄÖ][a-zåäö]+(?:[ -][A-ZÅÄÖ][a-zåäö]+)?)?")
PARTY_LABEL_RE = re.compile(r"^\s*(klagande|sökande|motpart|klient|den enskilde|ombud för|förälder|vårdnadshavare)\b", re.I)
ORGANISATION_WORDS = re.compile(r"nämnd|kommun|stad|myndighet|verket|styrelse|region|AB\b|förening|län", re.I)


class ExportError(TextmineError):
    """An export or import that cannot be done."""


# --- pseudonymisation ------------------------------------------------------------------

@dataclass
class Pseudonymiser:
    """Replaces personal identity numbers, private persons' names and their street
    addresses with placeholders ("[personnummer]", "[Person 1]", "[adress]"), and maps
    character offsets from the original text to the replaced one."""

    extra_names: set[str] = field(default_factory=set)  # e.g. parties of rulings
    aliases: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        from .nlp.gazetteer import DATA

        lines = (DATA / "first_names.txt").read_text(encoding="utf-8").splitlines()
        first = sorted({w for line in lines if not line.startswith("#") for w in line.split()}, key=len, reverse=True)
        self.name_re = re.compile(rf"\b(?:{'|'.join(map(re.escape, first))})(?:[ ]{NAME_WORD}){{1,2}}\b")
        gaz = load_gazetteer()
        self.places = {m.name for m in gaz.municipalities.values()} | {c.short for c in gaz.counties.values()}

    def private_names(self, text: str) -> set[str]:
        """Names of private persons: on a line with a personal identity number or after
        a party label ("Klagande: Anna Lindqvist"). Judges, officials and authors named
        in their office are public and stay."""
        names = set(self.extra_names)
        for line in text.splitlines():
            if PERSONNUMMER_RE.search(line) or PARTY_LABEL_RE.match(line):
                for m in self.name_re.finditer(line):
                    if m.group(0).split()[-1] not in self.places and not ORGANISATION_WORDS.search(m.group(0)):
                        names.add(m.group(0))
        return names

    def private_addresses(self, text: str) -> list[tuple[int, int, str]]:
        """Street addresses on a private party's line or the two lines after it (a
        ruling gives the appellant's address under the name); a "Box" address is an
        organisation's and stays."""
        out, pos, private_left = [], 0, 0
        for line in text.splitlines(keepends=True):
            if PERSONNUMMER_RE.search(line) or PARTY_LABEL_RE.match(line):
                private_left = 3
            if private_left:
                for m in STREET_ADDRESS_RE.finditer(line):
                    out.append((pos + m.start(), pos + m.end(), "[adress]"))
                if line.strip():
                    private_left -= 1
            pos += len(line)
        return out

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str | None]] = []  # None: a name, aliased below
        for m in PERSONNUMMER_RE.finditer(text):
            found.append((m.start(), m.end(), "[personnummer]"))
        found += self.private_addresses(text)
        names: dict[tuple[int, int], str] = {}
        for name in sorted(self.private_names(text), key=lambda n: (-len(n), n)):
            for m in re.finditer(rf"(?<![\wÅÄÖåäö]){re.escape(name)}(?![\wÅÄÖåäö])", text):
                names.setdefault((m.start(), m.end()), name)
                found.append((m.start(), m.end(), None))
        found.sort(key=lambda s: (s[0], -(s[1] - s[0])))
        out, last = [], -1
        for s, e, repl in found:  # overlapping finds: the first (longest) wins
            if s >= last:
                # persons are numbered in order of appearance, so the same text always
                # gets the same placeholders (a re-import rebuilds them)
                out.append((s, e, repl if repl is not None else self.alias(names[(s, e)])))
                last = e
        return out

    def alias(self, name: str) -> str:
        if name not in self.aliases:
            self.aliases[name] = f"[Person {len(self.aliases) + 1}]"
        return self.aliases[name]

    def apply(self, text: str) -> tuple[str, "OffsetMap"]:
        spans = self.spans(text)
        parts, pos = [], 0
        for start, end, repl in spans:
            parts.append(text[pos:start])
            parts.append(repl)
            pos = end
        parts.append(text[pos:])
        return "".join(parts), OffsetMap([(s, e, len(r)) for s, e, r in spans])


@dataclass
class OffsetMap:
    """Old offset -> new offset through a list of (start, end, new length) replacements.
    An offset inside a replaced span moves to the replacement's edge."""

    spans: list[tuple[int, int, int]]

    def __post_init__(self):
        self.starts = [s for s, _, _ in self.spans]
        self.shift = []
        total = 0
        for s, e, n in self.spans:
            total += n - (e - s)
            self.shift.append(total)

    def __call__(self, offset: int, *, end: bool = False) -> int:
        i = bisect_right(self.starts, offset) - 1
        if i < 0:
            return offset
        s, e, n = self.spans[i]
        before = self.shift[i - 1] if i else 0
        if s < offset < e:
            return s + before + (n if end else 0)
        if offset == s:
            return s + before
        return offset + self.shift[i]


def identity(offset: int, *, end: bool = False) -> int:
    return offset


def ruling_party_names(store: Store) -> set[str]:
    """Private parties of the stored rulings (initials or names, not authorities)."""
    import json

    names = set()
    for r in store.rulings():
        for who in (json.loads(r["card"]).get("parties") or {}).values():
            if who and not ORGANISATION_WORDS.search(who) and len(who) <= 60:
                names.add(who)
    return names


# --- the segments table ------------------------------------------------------------------

def code_paths(store: Store) -> dict[str, str]:
    """code name -> "Parent > Child" path."""
    out: dict[str, str] = {}

    def walk(c: Code, prefix: str) -> None:
        out[c.name] = prefix + c.name
        for ch in c.children:
            walk(ch, out[c.name] + " > ")

    for root in codebook(store):
        walk(root, "")
    return out


def segment_rows(store: Store, *, pseudonymise: bool = True, coder_id: int | None = None) -> list[dict]:
    """One row per live coding: document, page, coder, code, coded text."""
    paths = code_paths(store)
    pseudo = Pseudonymiser(ruling_party_names(store)) if pseudonymise else None
    rows = []
    for r in store.codings(coder_id=coder_id):
        text = pseudo.apply(r["text"])[0] if pseudo else r["text"]
        rows.append({
            "document": r["document"], "title": r["title"], "page": r["page_start"], "doc_type": r["doc_type"],
            "county": r["county"], "coder": r["coder_name"], "code": r["code_name"],
            "code_path": paths.get(r["code_name"], r["code_name"]), "start": r["start"], "end": r["end"], "text": text,
            "passage_id": r["passage_id"], "path": r["path"],
        })
    return rows


def segments_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=SEGMENT_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: _csv_safe(v) for k, v in r.items()})
    return out.getvalue()


def _csv_safe(v):
    # a cell starting with = + - @ runs as a formula in a spreadsheet: neutralise it
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return "" if v is None else v


def segments_xlsx(rows: list[dict], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Kodade segment"
    ws.append(list(SEGMENT_COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([_csv_safe(r.get(k)) for k in SEGMENT_COLUMNS])
    widths = {"title": 40, "code": 28, "code_path": 40, "text": 80, "path": 30}
    for i, col in enumerate(SEGMENT_COLUMNS, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = widths.get(col, 12)
    for row in ws.iter_rows(min_row=2, min_col=SEGMENT_COLUMNS.index("text") + 1, max_col=SEGMENT_COLUMNS.index("text") + 1):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.save(path)
    return path


# --- REFI-QDA ----------------------------------------------------------------------------

def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).replace(microsecond=0).isoformat()


def qda_codes(store: Store) -> list[qda.QdaCode]:
    def convert(c: Code) -> qda.QdaCode:
        return qda.QdaCode(guid=c.guid, name=c.name, description=description_for_exchange(c),
                           color=c.color if c.color and re.fullmatch(r"#[0-9A-Fa-f]{6}", c.color) else None,
                           children=[convert(ch) for ch in c.children])

    return [convert(c) for c in codebook(store)]


def document_text(passages: list[dict]) -> tuple[str, dict[str, int]]:
    """A document's passages as one text, and each passage's offset in it."""
    parts, offsets, pos = [], {}, 0
    for p in passages:
        offsets[p["passage_id"]] = pos
        parts.append(p["text"])
        pos += len(p["text"]) + len(SEPARATOR)
    return SEPARATOR.join(parts), offsets


def build_project(store: Store, *, pseudonymise: bool = True, name: str = "textmine") -> qda.QdaProject:
    """The store's codebook, coders, coded documents, codings and memos as a REFI-QDA project."""
    gaz = load_gazetteer()
    pseudo = Pseudonymiser(ruling_party_names(store)) if pseudonymise else None
    project = qda.QdaProject(name=name, origin="textmine", creation_datetime=_iso(dt.datetime.now().timestamp()),
                             description="Exported from textmine" + (" (pseudonymised)" if pseudonymise else ""))
    coders = {c["id"]: c for c in (store.coder_by_id(r["id"]) for r in store.coders())}
    documents = {d["id"]: d for d in store.list_documents()}
    project.users = [qda.QdaUser(c["guid"], c["name"]) for c in coders.values()]
    project.codes = qda_codes(store)
    code_guid = {c["id"]: c["guid"] for c in store.codes()}
    live = store.codings()
    memos = store.memos()
    notes_for: dict[tuple[str, str], list[str]] = {}
    for m in memos:
        note = qda.QdaNote(m["guid"], f"Memo ({m['target_kind']})", m["text"],
                           creating_user=coders[m["coder"]]["guid"] if m["coder"] in coders else None,
                           creation_datetime=_iso(m["created"]))
        project.notes.append(note)
        notes_for.setdefault((m["target_kind"], m["target"]), []).append(m["guid"])
    for codes in project.codes:
        for c in qda.iter_codes([codes]):
            cid = next((k for k, g in code_guid.items() if g == c.guid), None)
            c.note_guids = notes_for.get(("code", str(cid)), [])
    doc_ids = sorted({r["document"] for r in live if r["document"] is not None}
                     | {int(t) for k, t in notes_for if k == "document"})
    by_doc: dict[int, list[dict]] = {}
    for r in live:
        if r["document"] is not None:
            by_doc.setdefault(r["document"], []).append(r)
    orphans = sum(1 for r in live if r["document"] is None)
    for doc_id in doc_ids:
        doc = documents[doc_id]
        passages = store.document_passages(doc_id)
        text, offsets = document_text(passages)
        mapping = identity
        if pseudo:
            # numbered per document, so a re-import can rebuild the same text and offsets
            pseudo.aliases = {}
            text, mapping = pseudo.apply(text)
        m = gaz.municipality_of_issuer(doc["issuer"])
        source = qda.QdaSource(
            guid=_doc_guid(doc["sha256"]), name=f"{doc['title'] or Path(doc['path']).name}", text=text,
            description=f"{doc['issuer'] or ''} {doc['date'] or ''} ({Path(doc['path']).name})".strip(),
            creation_datetime=_iso(doc["ingested_at"]),
            variables={k: v for k, v in {
                "textmine_sha256": doc["sha256"], "doc_type": doc["doc_type"], "date": doc["date"] or "",
                "issuer": doc["issuer"] or "", "county": gaz.counties[doc["county"]].name if doc["county"] in gaz.counties else "",
                "municipality_group": f"{m.group} {m.group_name}" if m and m.group else "",
                "pseudonymised": "yes" if pseudo else "no",
            }.items() if v},
            note_guids=notes_for.get(("document", str(doc_id)), []),
        )
        selections: dict[tuple[int, int], qda.QdaSelection] = {}
        for r in by_doc.get(doc_id, []):
            if r["passage_id"] not in offsets:
                orphans += 1
                continue
            base = offsets[r["passage_id"]]
            start = base + (r["start"] or 0)
            end = base + (r["end"] if r["end"] is not None else len(r["passage_text"]))
            span = (mapping(start), mapping(end, end=True))
            sel = selections.get(span)
            if sel is None:
                sel = selections[span] = qda.QdaSelection(
                    guid=new_guid(), start=span[0], end=span[1], name=f"s. {r['page_start']}",
                    creating_user=r["coder_guid"], creation_datetime=_iso(r["created"]),
                    note_guids=list(notes_for.get(("passage", r["passage_id"]), [])) if r["start"] is None else [])
            sel.codings.append(qda.QdaCoding(r["guid"], code_guid[r["code"]], r["coder_guid"], _iso(r["created"])))
        # memos on passages nobody coded as a whole still travel: on a selection of the passage
        for (kind, target), guids in notes_for.items():
            if kind == "passage" and target in offsets and not any(set(guids) & set(s.note_guids) for s in selections.values()):
                p = next(p for p in passages if p["passage_id"] == target)
                span = (mapping(offsets[target]), mapping(offsets[target] + len(p["text"]), end=True))
                if span in selections:
                    selections[span].note_guids += guids
                else:
                    selections[span] = qda.QdaSelection(new_guid(), span[0], span[1], name=f"s. {p['page_start']}",
                                                        note_guids=list(guids))
        source.selections = sorted(selections.values(), key=lambda s: (s.start, s.end))
        project.sources.append(source)
    if orphans:
        project.warnings.append(f"{orphans} codings of passages no longer in the store are not exported")
    return project


def _doc_guid(sha256: str) -> str:
    """A stable GUID per document, so two exports name the same source the same way."""
    h = sha256[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def export(store: Store, fmt: str, out: Path, *, pseudonymise: bool = True) -> dict:
    """Write codings (csv, xlsx, qdpx) or the codebook (qdc, codebook-csv) to `out`."""
    out = Path(out)
    if out.exists() and out.is_dir():
        raise ExportError(f"{out} is a folder: give a file name")
    if not out.parent.exists():
        raise ExportError(f"the folder {out.parent} does not exist")
    if fmt == "csv":
        rows = segment_rows(store, pseudonymise=pseudonymise)
        out.write_text(segments_csv(rows), encoding="utf-8-sig")
        return {"format": fmt, "path": str(out), "segments": len(rows)}
    if fmt == "xlsx":
        rows = segment_rows(store, pseudonymise=pseudonymise)
        segments_xlsx(rows, out)
        return {"format": fmt, "path": str(out), "segments": len(rows)}
    if fmt == "qdpx":
        project = build_project(store, pseudonymise=pseudonymise)
        qda.write_qdpx(project, out)
        n = sum(len(s.codings) for src in project.sources for s in src.selections)
        return {"format": fmt, "path": str(out), "sources": len(project.sources), "codings": n,
                "codes": sum(1 for _ in qda.iter_codes(project.codes)), "users": len(project.users),
                "notes": len(project.notes), "warnings": project.warnings}
    if fmt == "qdc":
        codes = qda_codes(store)
        qda.write_qdc(codes, out)
        return {"format": fmt, "path": str(out), "codes": sum(1 for _ in qda.iter_codes(codes))}
    if fmt == "codebook-csv":
        from .coding import codebook_csv

        out.write_text(codebook_csv(store), encoding="utf-8")
        return {"format": fmt, "path": str(out), "codes": len(store.codes())}
    raise ExportError(f"unknown export format '{fmt}': use csv, xlsx, qdpx, qdc or codebook-csv")


# --- import ------------------------------------------------------------------------------

def import_codebook_file(store: Store, path: Path) -> int:
    """Codes from a .qdc or a codebook CSV; existing codes (by name) are updated."""
    path = Path(path)
    if not path.exists():
        raise ExportError(f"no file {path}")
    if path.suffix.lower() == ".qdc":
        return import_codebook_rows(store, _rows_from_qda_codes(qda.read_qdc(path)))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ExportError(f"{path} is not a UTF-8 text file (a codebook is .qdc or CSV)") from None
    return import_codebook_rows(store, read_codebook_csv(text))


def _rows_from_qda_codes(codes: list[qda.QdaCode]) -> list[dict]:
    rows = []

    def walk(c: qda.QdaCode, parent: str) -> None:
        rows.append({"name": c.name, "parent": parent, "color": c.color or "", "guid": c.guid,
                     **split_exchange_description(c.description)})
        for ch in c.children:
            walk(ch, c.name)

    for c in codes:
        walk(c, "")
    return rows


def import_project(store: Store, path: Path) -> dict:
    """Codes, coders and codings from a .qdpx whose sources are stored documents (a
    project exported by textmine and coded further in another tool). A coding that
    exists already is not doubled; sources that are not stored are reported."""
    project = qda.read_qdpx(path)
    n_codes = import_codebook_rows(store, _rows_from_qda_codes(project.codes))
    code_names = {c.guid.strip("{}").lower(): c.name for c in qda.iter_codes(project.codes)}
    users = {u.guid.strip("{}").lower(): u.name for u in project.users}
    docs = {d["sha256"]: d for d in store.list_documents()}
    added, skipped_sources, unmatched = 0, [], 0
    for src in project.sources:
        doc = docs.get(src.variables.get("textmine_sha256", ""))
        if doc is None:
            doc = _doc_by_text(store, src.text)
        if doc is None:
            skipped_sources.append(src.name)
            continue
        passages = store.document_passages(doc["id"])
        text, offsets = document_text(passages)
        pseudo = Pseudonymiser(ruling_party_names(store)) if src.variables.get("pseudonymised") == "yes" else None
        mapping = pseudo.apply(text)[1] if pseudo else identity
        starts = sorted((mapping(o), pid) for pid, o in offsets.items())
        lengths = {p["passage_id"]: len(p["text"]) for p in passages}
        for sel in src.selections:
            i = bisect_right([s for s, _ in starts], sel.start) - 1
            if i < 0:
                unmatched += 1
                continue
            base, pid = starts[i]
            new_end = mapping(offsets[pid] + lengths[pid], end=True)
            if sel.end > new_end:
                unmatched += 1  # a selection across passages: not a unit textmine codes
                continue
            whole = sel.start == base and sel.end == new_end
            start, end = (None, None) if whole else _original_span(mapping, offsets[pid], lengths[pid], sel.start, sel.end)
            for c in sel.codings:
                code = code_names.get(c.code_guid.strip("{}").lower())
                user = users.get((c.creating_user or sel.creating_user or "").strip("{}").lower()) or "import"
                if code is None:
                    continue
                try:
                    added += len(assign(store, user, code, pid, start, end))
                except CodingError:
                    unmatched += 1
    return {"codes": n_codes, "codings_added": added, "sources_not_stored": skipped_sources,
            "selections_not_mapped": unmatched, "warnings": project.warnings}


def _original_span(mapping, base: int, length: int, new_start: int, new_end: int) -> tuple[int, int]:
    """Offsets in the passage's own text for a selection in the (maybe pseudonymised) source."""
    start = next((o for o in range(length + 1) if mapping(base + o) >= new_start), 0)
    end = next((o for o in range(length, -1, -1) if mapping(base + o, end=True) <= new_end), length)
    return start, max(end, start + 1)


def _doc_by_text(store: Store, text: str) -> dict | None:
    for d in store.list_documents():
        if document_text(store.document_passages(d["id"]))[0] == text:
            return d
    return None
