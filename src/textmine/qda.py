"""REFI-QDA exchange (QDA-XML 1.0): project files (.qdpx) and codebooks (.qdc).

A ``.qdpx`` is a zip archive holding ``project.qde`` (XML in the namespace
``urn:QDA-XML:project:1.0``) and a ``sources/`` folder. Every text source is written as
one UTF-8 file ``sources/<guid>.txt`` (no byte order mark) and referenced from the XML
with ``plainTextPath="internal://<guid>.txt"``; the text is not also inlined, because the
schema says a TextSource carries either PlainTextContent or plainTextPath, not both.
A ``.qdc`` is a bare XML document: ``CodeBook`` > ``Codes`` > ``Code``... in the namespace
``urn:QDA-XML:codebook:1.0``.

Positions (``QdaSelection.start``/``end``) count characters of the plain text: Python
``str`` indices (Unicode code points), ``end`` exclusive, so
``source.text[sel.start:sel.end]`` is the selected text.

This module knows nothing about the textmine store: callers map their own data onto the
dataclasses below. All GUID-valued fields (``creating_user``, ``code_guid``,
``note_guids``) hold GUIDs of the project's users, codes and notes.

Reading is tolerant of files made by other tools (MAXQDA, ATLAS.ti, NVivo, QualCoder,
...): missing optional parts, text inlined as PlainTextContent, a ``Sources`` or
``sources`` folder (or sub-folders, or a zip with everything under a top folder),
arbitrarily nested codes, variables stored in name-less Cases, PDF sources with a plain
text representation. Non-text sources (pictures, audio, video, PDFs without a text
representation) are skipped and counted in ``QdaProject.skipped``; everything else that
is left out is described in ``QdaProject.warnings``.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import posixpath
import re
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from .errors import NotFound, ParseError, TextmineError, UnsupportedFile

__all__ = [
    "PROJECT_NS",
    "CODEBOOK_NS",
    "QdaUser",
    "QdaCode",
    "QdaCoding",
    "QdaSelection",
    "QdaSource",
    "QdaNote",
    "QdaProject",
    "new_guid",
    "iter_codes",
    "check_project",
    "project_xml",
    "write_qdpx",
    "read_qdpx",
    "read_project_xml",
    "codebook_xml",
    "write_qdc",
    "read_qdc",
    "validate_project",
    "source_member",
]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_PROJECT_NS_PREFIX = "urn:QDA-XML:project:"
_CODEBOOK_NS_PREFIX = "urn:QDA-XML:codebook:"

_GUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}"
)
_GUID_FORM = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
_RGB_RE = re.compile(r"#(?:[A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})")
_DATETIME_RE = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?"
)
# Characters XML 1.0 cannot carry (C0 controls except tab, LF, CR; surrogates; U+FFFE/F).
_NON_XML_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_VALUE_TAGS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")
_NEWLINE_MODES = ("auto", "keep", "collapse")


# --------------------------------------------------------------------------- data


@dataclass
class QdaUser:
    guid: str
    name: str


@dataclass
class QdaCode:
    guid: str
    name: str
    description: str = ""
    color: str | None = None  # "#RRGGBB" (the schema also allows "#RGB")
    is_codable: bool = True  # False: a category/folder that only groups other codes
    children: list[QdaCode] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)  # not carried by a .qdc


@dataclass
class QdaCoding:
    guid: str
    code_guid: str
    creating_user: str | None = None  # a QdaUser.guid
    creation_datetime: str | None = None  # ISO 8601 / xsd:dateTime, e.g. 2024-05-02T09:30:00+02:00
    note_guids: list[str] = field(default_factory=list)


@dataclass
class QdaSelection:
    guid: str
    start: int  # characters (code points) into QdaSource.text, inclusive
    end: int  # exclusive
    name: str = ""
    creating_user: str | None = None
    creation_datetime: str | None = None
    description: str = ""
    codings: list[QdaCoding] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)


@dataclass
class QdaSource:
    guid: str
    name: str
    text: str
    description: str = ""
    creating_user: str | None = None
    creation_datetime: str | None = None
    selections: list[QdaSelection] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # written as Text variables
    codings: list[QdaCoding] = field(default_factory=list)  # codings of the whole source


@dataclass
class QdaNote:
    guid: str
    name: str
    text: str
    creating_user: str | None = None
    creation_datetime: str | None = None
    description: str = ""


@dataclass
class QdaProject:
    name: str
    origin: str = "textmine"
    creating_user: str | None = None
    creation_datetime: str | None = None
    description: str = ""
    users: list[QdaUser] = field(default_factory=list)
    codes: list[QdaCode] = field(default_factory=list)  # roots; children nest
    sources: list[QdaSource] = field(default_factory=list)
    notes: list[QdaNote] = field(default_factory=list)
    note_guids: list[str] = field(default_factory=list)  # notes about the whole project
    # Filled by the readers; not part of equality.
    skipped: int = field(default=0, compare=False)  # non-text sources left out
    warnings: list[str] = field(default_factory=list, compare=False)
    # Variable name -> GUID of its <Variable>; kept from a read file so GUIDs survive a
    # re-export. Names without an entry get a GUID derived from the name.
    variable_guids: dict[str, str] = field(default_factory=dict, compare=False)


def new_guid() -> str:
    """A fresh random GUID in the form the schema accepts (lower-case 8-4-4-4-12 hex)."""
    return str(uuid.uuid4())


def iter_codes(codes: Iterable[QdaCode]) -> Iterator[QdaCode]:
    """Every code of a code tree, depth first, parents before their children."""
    stack = list(reversed(list(codes)))
    while stack:
        code = stack.pop()
        yield code
        stack.extend(reversed(code.children))


def _internal_path(source_guid: str) -> str:
    return "internal://" + posixpath.basename(source_member(source_guid))


def source_member(source_guid: str) -> str:
    """Name of a text source's file inside the .qdpx zip: ``sources/<guid>.txt``."""
    return f"sources/{source_guid.strip('{}')}.txt"


# --------------------------------------------------------------------------- checks


def _as_datetime_text(value) -> str | None:
    """An xsd:dateTime string for value (str or datetime), or None when it has none."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    text = str(value).strip()
    if _DATETIME_RE.fullmatch(text):
        return text
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return None


def check_project(project: QdaProject) -> list[str]:
    """Problems that would make an export wrong or unreadable by other tools: GUIDs not in
    the schema's form or used twice, references to users/codes/notes the project does not
    hold, selections outside their text, bad colours or dates. Empty when fine."""
    problems: list[str] = []
    seen: dict[str, str] = {}

    def guid(value: str, what: str) -> None:
        if not isinstance(value, str) or not _GUID_RE.fullmatch(value):
            problems.append(f"{what} has GUID {value!r}, not of the form {_GUID_FORM}")
            return
        key = value.strip("{}").lower()
        if key in seen:
            problems.append(f"{what} reuses GUID {value} of {seen[key]}")
        else:
            seen[key] = what

    users = {u.guid for u in project.users}
    notes = {n.guid for n in project.notes}
    codes = {c.guid for c in iter_codes(project.codes)}

    def user(value: str | None, what: str) -> None:
        if value is not None and value not in users:
            problems.append(f"{what}: creating user {value} is not among the project's users")

    def when(value, what: str) -> None:
        if value is not None and _as_datetime_text(value) is None:
            problems.append(f"{what}: creation date {value!r} is not an ISO 8601 date and time")

    def noterefs(refs: list[str], what: str) -> None:
        for ref in refs:
            if ref not in notes:
                problems.append(f"{what} refers to note {ref}, which is not among the project's notes")

    def codings(items: list[QdaCoding], what: str) -> None:
        for coding in items:
            cw = f"coding {coding.guid} in {what}"
            guid(coding.guid, cw)
            if coding.code_guid not in codes:
                problems.append(f"{cw} refers to code {coding.code_guid}, which is not in the codebook")
            user(coding.creating_user, cw)
            when(coding.creation_datetime, cw)
            noterefs(coding.note_guids, cw)

    user(project.creating_user, "the project")
    when(project.creation_datetime, "the project")
    noterefs(project.note_guids, "the project")
    for u in project.users:
        guid(u.guid, f"user {u.name!r}")
    for code in iter_codes(project.codes):
        what = f"code {code.name!r}"
        guid(code.guid, what)
        if code.color is not None and not _RGB_RE.fullmatch(code.color):
            problems.append(f"{what} has colour {code.color!r}, not of the form #RRGGBB")
        noterefs(code.note_guids, what)
    for source in project.sources:
        what = f"source {source.name!r}"
        guid(source.guid, what)
        user(source.creating_user, what)
        when(source.creation_datetime, what)
        noterefs(source.note_guids, what)
        codings(source.codings, what)
        for name in source.variables:
            if not name:
                problems.append(f"{what} has a variable without a name")
        for sel in source.selections:
            sw = f"selection {sel.guid} in {what}"
            guid(sel.guid, sw)
            if not (0 <= sel.start <= sel.end <= len(source.text)):
                problems.append(
                    f"{sw} spans {sel.start}..{sel.end}, outside the text's {len(source.text)} characters"
                )
            user(sel.creating_user, sw)
            when(sel.creation_datetime, sw)
            noterefs(sel.note_guids, sw)
            codings(sel.codings, sw)
    for note in project.notes:
        what = f"note {note.name!r}"
        guid(note.guid, what)
        user(note.creating_user, what)
        when(note.creation_datetime, what)
    return problems


def _raise_problems(problems: list[str], what: str) -> None:
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise TextmineError(f"cannot write {what}: {problems[0]}{more}")


# --------------------------------------------------------------------------- writing


def _xml_text(value: str) -> str:
    """value with characters XML 1.0 cannot hold replaced by U+FFFD (lengths unchanged)."""
    return _NON_XML_RE.sub("\ufffd", value)


class _Builder:
    def __init__(self, ns: str):
        self.ns = ns

    def el(self, parent, tag: str, attrs: dict | None = None, text: str | None = None):
        node = etree.SubElement(parent, f"{{{self.ns}}}{tag}")
        for key, value in (attrs or {}).items():
            if value is not None:
                node.set(key, _xml_text(str(value)))
        if text is not None:
            node.text = _xml_text(text)
        return node

    def root(self, tag: str, attrs: dict):
        node = etree.Element(f"{{{self.ns}}}{tag}", nsmap={None: self.ns})
        for key, value in attrs.items():
            if value is not None:
                node.set(key, _xml_text(str(value)))
        return node


def _write_code(b: _Builder, parent, code: QdaCode, with_notes: bool) -> None:
    node = b.el(
        parent,
        "Code",
        {
            "guid": code.guid,
            "name": code.name,
            "isCodable": "true" if code.is_codable else "false",
            "color": code.color,
        },
    )
    if code.description:
        b.el(node, "Description", text=code.description)
    if with_notes:
        for ref in code.note_guids:
            b.el(node, "NoteRef", {"targetGUID": ref})
    for child in code.children:
        _write_code(b, node, child, with_notes)


def _write_coding(b: _Builder, parent, coding: QdaCoding) -> None:
    node = b.el(
        parent,
        "Coding",
        {
            "guid": coding.guid,
            "creatingUser": coding.creating_user,
            "creationDateTime": _as_datetime_text(coding.creation_datetime),
        },
    )
    b.el(node, "CodeRef", {"targetGUID": coding.code_guid})
    for ref in coding.note_guids:
        b.el(node, "NoteRef", {"targetGUID": ref})


def _variable_guid(project: QdaProject, name: str) -> str:
    known = project.variable_guids.get(name)
    if known and _GUID_RE.fullmatch(known):
        return known
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:textmine:qda:variable:" + name))


def project_xml(project: QdaProject, *, inline_text: bool = False) -> bytes:
    """The ``project.qde`` document (UTF-8, with XML declaration).

    Text sources refer to ``internal://<guid>.txt`` (see ``source_member``); with
    ``inline_text=True`` they carry their text as PlainTextContent instead, for a
    stand-alone .qde. Raises TextmineError when ``check_project`` finds problems."""
    _raise_problems(check_project(project), f"project {project.name!r}")
    b = _Builder(PROJECT_NS)
    root = b.root(
        "Project",
        {
            "name": project.name,
            "origin": project.origin or None,
            "creatingUserGUID": project.creating_user,
            "creationDateTime": _as_datetime_text(project.creation_datetime),
        },
    )
    if project.users:
        users = b.el(root, "Users")
        for u in project.users:
            b.el(users, "User", {"guid": u.guid, "name": u.name})
    if project.codes:
        codes = b.el(b.el(root, "CodeBook"), "Codes")
        for code in project.codes:
            _write_code(b, codes, code, with_notes=True)
    variable_names: list[str] = []
    for source in project.sources:
        for name in source.variables:
            if name not in variable_names:
                variable_names.append(name)
    variable_guids = {name: _variable_guid(project, name) for name in variable_names}
    if variable_names:
        variables = b.el(root, "Variables")
        for name in variable_names:
            b.el(variables, "Variable", {"guid": variable_guids[name], "name": name, "typeOfVariable": "Text"})
    if project.sources:
        sources = b.el(root, "Sources")
        for source in project.sources:
            node = b.el(
                sources,
                "TextSource",
                {
                    "guid": source.guid,
                    "name": source.name,
                    "plainTextPath": None if inline_text else _internal_path(source.guid),
                    "creatingUser": source.creating_user,
                    "creationDateTime": _as_datetime_text(source.creation_datetime),
                },
            )
            if source.description:
                b.el(node, "Description", text=source.description)
            if inline_text:
                b.el(node, "PlainTextContent", text=source.text)
            for sel in source.selections:
                snode = b.el(
                    node,
                    "PlainTextSelection",
                    {
                        "guid": sel.guid,
                        "name": sel.name or None,
                        "startPosition": sel.start,
                        "endPosition": sel.end,
                        "creatingUser": sel.creating_user,
                        "creationDateTime": _as_datetime_text(sel.creation_datetime),
                    },
                )
                if sel.description:
                    b.el(snode, "Description", text=sel.description)
                for coding in sel.codings:
                    _write_coding(b, snode, coding)
                for ref in sel.note_guids:
                    b.el(snode, "NoteRef", {"targetGUID": ref})
            for coding in source.codings:
                _write_coding(b, node, coding)
            for ref in source.note_guids:
                b.el(node, "NoteRef", {"targetGUID": ref})
            for name, value in source.variables.items():
                vnode = b.el(node, "VariableValue")
                b.el(vnode, "VariableRef", {"targetGUID": variable_guids[name]})
                b.el(vnode, "TextValue", text="" if value is None else str(value))
    if project.notes:
        notes = b.el(root, "Notes")
        for note in project.notes:
            node = b.el(
                notes,
                "Note",
                {
                    "guid": note.guid,
                    "name": note.name,
                    "creatingUser": note.creating_user,
                    "creationDateTime": _as_datetime_text(note.creation_datetime),
                },
            )
            if note.description:
                b.el(node, "Description", text=note.description)
            b.el(node, "PlainTextContent", text=note.text)
    if project.description:
        b.el(root, "Description", text=project.description)
    for ref in project.note_guids:
        b.el(root, "NoteRef", {"targetGUID": ref})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file beside path, so a failure leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_qdpx(project: QdaProject, path) -> Path:
    """Write project as a .qdpx zip: ``project.qde`` plus ``sources/<guid>.txt`` (UTF-8)
    for each text source. Returns the path written."""
    path = Path(path)
    data = project_xml(project)
    members = {source_member(s.guid): s.text.encode("utf-8", errors="replace") for s in project.sources}

    def write(fh) -> None:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("project.qde", data)
            zf.writestr(zipfile.ZipInfo("sources/"), b"")
            for name, body in members.items():
                zf.writestr(name, body)

    _atomic_write(path, write)
    return path


def codebook_xml(codes: list[QdaCode], origin: str = "textmine") -> bytes:
    """A .qdc codebook document (UTF-8). Codes keep guid, name, isCodable, colour,
    description and nesting; note references are not part of a codebook."""
    problems: list[str] = []
    seen: set[str] = set()
    for code in iter_codes(codes):
        if not _GUID_RE.fullmatch(code.guid or ""):
            problems.append(f"code {code.name!r} has GUID {code.guid!r}, not of the form {_GUID_FORM}")
        elif code.guid.lower() in seen:
            problems.append(f"code {code.name!r} reuses GUID {code.guid}")
        seen.add((code.guid or "").lower())
        if code.color is not None and not _RGB_RE.fullmatch(code.color):
            problems.append(f"code {code.name!r} has colour {code.color!r}, not of the form #RRGGBB")
    _raise_problems(problems, "the codebook")
    b = _Builder(CODEBOOK_NS)
    root = b.root("CodeBook", {"origin": origin or None})
    holder = b.el(root, "Codes")
    for code in codes:
        _write_code(b, holder, code, with_notes=False)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_qdc(codes: list[QdaCode], path, origin: str = "textmine") -> Path:
    """Write a .qdc codebook file. Returns the path written."""
    path = Path(path)
    data = codebook_xml(codes, origin)
    _atomic_write(path, lambda fh: fh.write(data))
    return path


# --------------------------------------------------------------------------- reading


def _local(node) -> str | None:
    tag = node.tag
    if not isinstance(tag, str):  # comment or processing instruction
        return None
    return tag.rsplit("}", 1)[-1]


def _kids(node, name: str) -> list:
    return [child for child in node if _local(child) == name]


def _first(node, name: str):
    for child in node:
        if _local(child) == name:
            return child
    return None


def _opt(node, attr: str) -> str | None:
    """An optional attribute, None when absent or blank (some tools write creatingUser="")."""
    value = node.get(attr)
    value = value.strip() if value is not None else None
    return value or None


def _child_text(node, name: str) -> str:
    child = _first(node, name)
    return "" if child is None or child.text is None else child.text


def _namespace(node) -> str:
    tag = node.tag
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _parse(data: bytes, what: str):
    if isinstance(data, str):
        data = data.encode("utf-8")
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{what}: malformed XML ({exc})") from None
    if root is None:
        raise ParseError(f"{what}: empty XML document")
    return root


def _decode(value, label: str, warnings: list[str]) -> str:
    """Text of a source file: UTF-8 (or UTF-16 with BOM); a BOM is dropped, it is not text."""
    if isinstance(value, str):
        return value[1:] if value.startswith("\ufeff") else value
    data = bytes(value)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.append(f"{label} is not UTF-8; read it as Windows-1252")
        return data.decode("cp1252", errors="replace")


def _lookup(sources: Mapping, path: str):
    """The entry of sources that an internal:// path names: exact key first, then keys
    under a sources/Sources folder, in sub-folders, or with the same file name."""
    if path in sources:
        return sources[path]
    want = path.replace("\\", "/").lstrip("/")
    while want.startswith("./"):
        want = want[2:]
    wants = [want.lower()]
    if unquote(want) != want:
        wants.append(unquote(want).lower())
    best = found = None
    for key in sources:
        k = str(key).replace("\\", "/").lstrip("/").lower()
        for w in wants:
            if k == w:
                score = 0
            elif k == "sources/" + w:
                score = 1
            elif k.endswith("/sources/" + w):
                score = 2
            elif k.endswith("/" + w):
                score = 3
            elif posixpath.basename(k) == posixpath.basename(w):
                score = 4
            else:
                continue
            cand = (score, len(k), str(key))
            if best is None or cand < best:
                best = cand
                found = key
    return None if best is None else sources[found]


class _ZipSources(Mapping):
    """The files of an open .qdpx zip as a mapping name -> bytes (read on demand)."""

    def __init__(self, zf: zipfile.ZipFile, skip: str):
        self._zf = zf
        self._names = [i.filename for i in zf.infolist() if not i.is_dir() and i.filename != skip]
        self._known = set(self._names)

    def __contains__(self, key) -> bool:  # without reading the member
        return key in self._known

    def __getitem__(self, key):
        if key not in self._known:
            raise KeyError(key)
        return self._zf.read(key)

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)


class _Reader:
    def __init__(self, sources: Mapping, what: str, newlines: str):
        if newlines not in _NEWLINE_MODES:
            raise ValueError(f"newlines must be one of {_NEWLINE_MODES}, not {newlines!r}")
        self.sources = sources
        self.what = what
        self.newlines = newlines
        self.collapse = newlines == "collapse"
        self.warnings: list[str] = []
        self.skipped = 0
        self.variables: dict[str, str] = {}  # variable guid -> name

    # -- helpers

    def guid(self, node, kind: str) -> str:
        value = node.get("guid")
        if value:
            return value.strip()
        value = new_guid()
        self.warnings.append(f"a {kind} without a GUID was given the new GUID {value}")
        return value

    @staticmethod
    def refs(node) -> list[str]:
        return [r.get("targetGUID", "").strip() for r in _kids(node, "NoteRef") if r.get("targetGUID")]

    def content(self, node, label: str) -> str | None:
        """The plain text of a TextSource-typed element, from its file or inline."""
        path = node.get("plainTextPath")
        text = None
        if path:
            if path.startswith("internal://"):
                raw = _lookup(self.sources, path[len("internal://"):])
                if raw is not None:
                    text = _decode(raw, label, self.warnings)
                else:
                    self.warnings.append(f"{label}: its text file {path} is not in the archive")
            else:
                self.warnings.append(f"{label}: its text is outside the archive ({path}); not read")
        if text is None:
            inline = _first(node, "PlainTextContent")
            if inline is not None:
                text = inline.text or ""
        if text is not None and self.collapse:
            text = text.replace("\r\n", "\n")
        return text

    def codings(self, node, label: str) -> list[QdaCoding]:
        out = []
        for c in _kids(node, "Coding"):
            ref = _first(c, "CodeRef")
            if ref is None or not ref.get("targetGUID"):
                self.warnings.append(f"{label}: a coding without a code reference was left out")
                continue
            out.append(
                QdaCoding(
                    guid=self.guid(c, "coding"),
                    code_guid=ref.get("targetGUID").strip(),
                    creating_user=_opt(c, "creatingUser"),
                    creation_datetime=_opt(c, "creationDateTime"),
                    note_guids=self.refs(c),
                )
            )
        return out

    def position(self, node, attr: str, label: str) -> int:
        raw = node.get(attr)
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ParseError(f"{self.what}: {label} has {attr}={raw!r}, not a whole number") from None

    # -- parts

    def code(self, node) -> QdaCode:
        codable = (node.get("isCodable") or "true").strip().lower() not in ("false", "0")
        return QdaCode(
            guid=self.guid(node, "code"),
            name=node.get("name") or "",
            description=_child_text(node, "Description"),
            color=_opt(node, "color"),
            is_codable=codable,
            children=[self.code(child) for child in _kids(node, "Code")],
            note_guids=self.refs(node),
        )

    def codes(self, holder) -> list[QdaCode]:
        """Codes of a CodeBook (under its Codes, or directly under it)."""
        out = []
        for child in holder:
            name = _local(child)
            if name == "Codes":
                out.extend(self.code(c) for c in _kids(child, "Code"))
            elif name == "Code":
                out.append(self.code(child))
        return out

    def variable_values(self, node) -> dict[str, str]:
        values = {}
        for vv in _kids(node, "VariableValue"):
            ref = _first(vv, "VariableRef")
            target = (ref.get("targetGUID") or "").strip() if ref is not None else ""
            name = self.variables.get(target)
            if name is None:
                self.warnings.append(f"a value of the undeclared variable {target or '(no reference)'} was left out")
                continue
            value = ""
            for child in vv:
                if _local(child) in _VALUE_TAGS:
                    value = child.text or ""
                    break
            values[name] = value
        return values

    def text_source(self, node, label: str, outer=None) -> QdaSource | None:
        """A QdaSource from a TextSource (or, with outer, a PDFSource's Representation)."""
        text = self.content(node, label)
        if text is None:
            self.skipped += 1
            self.warnings.append(f"{label} has no plain text in the archive; skipped")
            return None
        meta = outer if outer is not None else node
        source = QdaSource(
            guid=self.guid(meta, "source"),
            name=meta.get("name") or node.get("name") or "",
            text=text,
            description=_child_text(meta, "Description"),
            creating_user=_opt(meta, "creatingUser"),
            creation_datetime=_opt(meta, "creationDateTime"),
            note_guids=self.refs(meta) + (self.refs(node) if outer is not None else []),
            variables=self.variable_values(meta),
            codings=(self.codings(outer, label) if outer is not None else []) + self.codings(node, label),
        )
        for sel in _kids(node, "PlainTextSelection"):
            sguid = self.guid(sel, "selection")
            slabel = f"selection {sguid} in {label}"
            start = self.position(sel, "startPosition", slabel)
            end = self.position(sel, "endPosition", slabel)
            if not (0 <= start <= end <= len(text)):
                raise ParseError(
                    f"{self.what}: {slabel} spans {start}..{end}, outside the text's {len(text)} characters"
                )
            source.selections.append(
                QdaSelection(
                    guid=sguid,
                    start=start,
                    end=end,
                    name=sel.get("name") or "",
                    creating_user=_opt(sel, "creatingUser"),
                    creation_datetime=_opt(sel, "creationDateTime"),
                    description=_child_text(sel, "Description"),
                    codings=self.codings(sel, slabel),
                    note_guids=self.refs(sel),
                )
            )
        if "\r\n" in text and not self.collapse:
            self.warnings.append(
                f"{label} has Windows line ends (CR LF); positions count them as two characters "
                "(read with newlines='collapse' if the exporting tool counted them as one)"
            )
        return source

    def project(self, root) -> QdaProject:
        origin = root.get("origin") or ""
        if self.newlines == "auto":
            # ATLAS.ti writes CR LF into the text files but counts each as one character.
            self.collapse = "atlas" in origin.lower()
        project = QdaProject(
            name=root.get("name") or "",
            origin=origin,
            creating_user=_opt(root, "creatingUserGUID"),
            creation_datetime=_opt(root, "creationDateTime"),
            description=_child_text(root, "Description"),
            note_guids=self.refs(root),
        )
        for users in _kids(root, "Users"):
            for u in _kids(users, "User"):
                project.users.append(QdaUser(guid=self.guid(u, "user"), name=u.get("name") or ""))
        for book in _kids(root, "CodeBook"):
            project.codes.extend(self.codes(book))
        for variables in _kids(root, "Variables"):
            for v in _kids(variables, "Variable"):
                vguid = self.guid(v, "variable")
                name = v.get("name") or vguid
                self.variables[vguid] = name
                project.variable_guids.setdefault(name, vguid)
        by_guid: dict[str, QdaSource] = {}
        for sources in _kids(root, "Sources"):
            for node in sources:
                kind = _local(node)
                if kind is None:
                    continue
                label = f"source {node.get('name') or node.get('guid') or '(unnamed)'!r}"
                source = None
                if kind == "TextSource":
                    source = self.text_source(node, label)
                elif kind == "PDFSource" and _first(node, "Representation") is not None:
                    source = self.text_source(_first(node, "Representation"), label, outer=node)
                    if source is not None:
                        regions = len(_kids(node, "PDFSelection"))
                        note = f"; {regions} PDF region selections left out" if regions else ""
                        self.warnings.append(f"{label} is a PDF: read its plain text representation{note}")
                else:
                    self.skipped += 1
                    self.warnings.append(f"{label} is a {kind}, not text; skipped")
                if source is not None:
                    project.sources.append(source)
                    by_guid[source.guid.strip("{}").lower()] = source
        self.cases(root, by_guid)
        for notes in _kids(root, "Notes"):
            for n in _kids(notes, "Note"):
                nguid = self.guid(n, "note")
                text = self.content(n, f"note {n.get('name') or nguid!r}")
                project.notes.append(
                    QdaNote(
                        guid=nguid,
                        name=n.get("name") or "",
                        text=text or "",
                        creating_user=_opt(n, "creatingUser"),
                        creation_datetime=_opt(n, "creationDateTime"),
                        description=_child_text(n, "Description"),
                    )
                )
        for part in ("Links", "Sets", "Graphs"):
            count = sum(len(list(el)) for el in _kids(root, part))
            if count:
                self.warnings.append(f"{count} {part.lower()} left out (not supported)")
        known = {c.guid for c in iter_codes(project.codes)}
        dangling = sum(
            1
            for s in project.sources
            for c in s.codings + [c for sel in s.selections for c in sel.codings]
            if c.code_guid not in known
        )
        if dangling:
            self.warnings.append(f"{dangling} codings refer to codes that are not in the codebook")
        users = {u.guid for u in project.users}
        strangers = {
            obj.creating_user
            for obj in [project, *project.notes, *project.sources]
            + [sel for s in project.sources for sel in s.selections]
            + [c for s in project.sources for c in s.codings + [c for sel in s.selections for c in sel.codings]]
            if obj.creating_user is not None and obj.creating_user not in users
        }
        if strangers:
            self.warnings.append(f"{len(strangers)} creating users are not among the project's users")
        project.skipped = self.skipped
        project.warnings = self.warnings
        return project

    def cases(self, root, by_guid: dict[str, QdaSource]) -> None:
        """Variables of single sources stored in name-less Cases (MAXQDA, Quirkos) become
        source variables; other cases are left out."""
        ignored = 0
        for cases in _kids(root, "Cases"):
            for case in _kids(cases, "Case"):
                refs = _kids(case, "SourceRef")
                if case.get("name") is None and len(refs) == 1:
                    source = by_guid.get((refs[0].get("targetGUID") or "").strip("{}").lower())
                    if source is not None:
                        for name, value in self.variable_values(case).items():
                            source.variables.setdefault(name, value)
                        continue
                ignored += 1
        if ignored:
            self.warnings.append(f"{ignored} cases left out (not supported)")


def _check_root(root, local: str, prefix: str, expected_ns: str, what: str, kind: str) -> None:
    ns = _namespace(root)
    if _local(root) != local or not ns.startswith(prefix):
        found = f"{_local(root)}" + (f" in namespace {ns}" if ns else " without a namespace")
        raise UnsupportedFile(
            f"{what}: not a REFI-QDA {kind}: the root element is {found}, "
            f"expected {local} in namespace {expected_ns}"
        )


def read_project_xml(
    data: bytes, sources: Mapping | None = None, *, newlines: str = "auto", what: str = "project.qde"
) -> QdaProject:
    """Read a project.qde document. ``sources`` maps file names (as in
    ``internal://<name>``, optionally under ``sources/``) to their text (str) or raw
    bytes; texts inlined as PlainTextContent need no entry.

    newlines: "keep" takes text files as they are (CR LF counts two characters);
    "collapse" turns CR LF into LF before positions apply; "auto" (default) collapses
    only for files made by ATLAS.ti, which counts CR LF as one character."""
    root = _parse(data, what)
    _check_root(root, "Project", _PROJECT_NS_PREFIX, PROJECT_NS, what, "project")
    return _Reader(sources or {}, what, newlines).project(root)


def read_qdpx(path, *, newlines: str = "auto") -> QdaProject:
    """Read a .qdpx project file (see read_project_xml for ``newlines``)."""
    path = Path(path)
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsupportedFile(
            f"{path.name}: not a REFI-QDA project file: it is not a zip archive ({exc})"
        ) from None
    with zf:
        names = [i.filename for i in zf.infolist() if not i.is_dir()]
        qdes = [n for n in names if n.lower().endswith(".qde")]
        if not qdes:
            raise ParseError(f"{path.name}: no project.qde inside; not a REFI-QDA project file")
        # project.qde at the top, else the least deeply nested .qde
        qde = min(qdes, key=lambda n: (posixpath.basename(n).lower() != "project.qde", n.count("/"), n))
        try:
            data = zf.read(qde)
            return read_project_xml(data, _ZipSources(zf, qde), newlines=newlines, what=f"{path.name}/{qde}")
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
            raise ParseError(f"{path.name}: damaged zip archive ({exc})") from None


def read_qdc(source) -> list[QdaCode]:
    """Codes of a .qdc codebook, given its path or its bytes. A CodeBook in the project
    namespace (as inside a project.qde) is read too."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, what = bytes(source), "codebook"
    else:
        path = Path(source)
        if not path.is_file():
            raise NotFound(f"{path}: no such file")
        data, what = path.read_bytes(), path.name
    root = _parse(data, what)
    if not (_local(root) == "CodeBook" and _namespace(root).startswith(_PROJECT_NS_PREFIX)):
        _check_root(root, "CodeBook", _CODEBOOK_NS_PREFIX, CODEBOOK_NS, what, "codebook")
    return _Reader({}, what, "keep").codes(root)


# --------------------------------------------------------------------------- validation


@lru_cache(maxsize=4)
def _schema(path: str, mtime: float) -> etree.XMLSchema:
    try:
        return etree.XMLSchema(etree.parse(path))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise TextmineError(f"{path}: not a usable XML schema ({exc})") from None


def validate_project(data: bytes, xsd_path) -> list[str]:
    """Validate a project.qde document against the REFI-QDA schema at xsd_path (e.g.
    Project-mrt2019.xsd). Returns one message per problem ("line N: ..."); empty when
    valid. Malformed XML is reported as a problem too."""
    xsd = Path(xsd_path)
    if not xsd.is_file():
        raise NotFound(f"{xsd}: no such schema file")
    schema = _schema(str(xsd.resolve()), xsd.stat().st_mtime)
    if isinstance(data, str):
        data = data.encode("utf-8")
    try:
        doc = etree.parse(io.BytesIO(data), etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError as exc:
        return [f"malformed XML: {exc}"]
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
