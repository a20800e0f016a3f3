"""The coding workbench: a hierarchical codebook, named coders, codings of passages or
exact spans, undo, memos and suggestions.

A coding is (coder, code, passage, optional character span in the passage text). The
coded text is kept with the coding, so exports and agreement stay right when passages
are rebuilt. One call of assign/assign_bulk/remove is one action the coder can undo."""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import NotFound, TextmineError
from .store import Store

STARTER_CODEBOOK = Path(__file__).parent / "data" / "starter_codebook.csv"
CODEBOOK_COLUMNS = ("name", "parent", "description", "inclusion", "exclusion", "examples", "color")
MEMO_TARGETS = ("code", "passage", "document")
# REFI-QDA has one Description per code: the notes go into it under these headings and
# are read back from them on import.
DESCRIPTION_PARTS = (("inclusion", "Inkludera:"), ("exclusion", "Exkludera:"), ("examples", "Exempel:"))


class CodingError(TextmineError):
    """A coding request that cannot be carried out (bad span, unknown code, ...)."""


@dataclass
class Code:
    id: int
    guid: str
    name: str
    parent: int | None
    description: str = ""
    inclusion: str = ""
    exclusion: str = ""
    examples: str = ""
    color: str | None = None
    n_codings: int = 0
    depth: int = 0
    children: list["Code"] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "id": self.id, "guid": self.guid, "name": self.name, "parent": self.parent, "description": self.description,
            "inclusion": self.inclusion, "exclusion": self.exclusion,
            "examples": [e for e in self.examples.splitlines() if e.strip()], "color": self.color,
            "codings": self.n_codings, "children": [c.to_json() for c in self.children],
        }

    def prototype_text(self) -> str:
        """What the code is about, as one text to embed: name, description, inclusion, examples."""
        return " ".join(t for t in (self.name, self.description, self.inclusion, self.examples.replace("\n", " ")) if t)


def new_guid() -> str:
    return str(uuid.uuid4())


# --- codebook ---------------------------------------------------------------------------

def ensure_starter_codebook(store: Store) -> int:
    """A new store starts with the project's starter codebook (once: a researcher who
    deletes codes does not get them back)."""
    if store.meta_get("codebook_seeded"):
        return 0
    n = 0
    if not store.codes():
        n = import_codebook_rows(store, read_codebook_csv(STARTER_CODEBOOK.read_text(encoding="utf-8")))
    store.meta_set("codebook_seeded", "1")
    return n


def codebook(store: Store) -> list[Code]:
    """The codebook as a forest (roots in order, children nested), with coding counts."""
    ensure_starter_codebook(store)
    counts = store.coding_counts()
    codes = {r["id"]: Code(
        id=r["id"], guid=r["guid"], name=r["name"], parent=r["parent"], description=r["description"],
        inclusion=r["inclusion"], exclusion=r["exclusion"], examples=r["examples"], color=r["color"],
        n_codings=counts.get(r["id"], 0),
    ) for r in store.codes()}
    roots = []
    for c in codes.values():
        if c.parent in codes:
            codes[c.parent].children.append(c)
        else:
            roots.append(c)

    def set_depth(c: Code, d: int) -> None:
        c.depth = d
        for ch in c.children:
            set_depth(ch, d + 1)

    for r in roots:
        set_depth(r, 0)
    return roots


def flat_codebook(store: Store) -> list[Code]:
    """Codes in tree order (each parent followed by its children)."""
    out: list[Code] = []

    def walk(c: Code) -> None:
        out.append(c)
        for ch in c.children:
            walk(ch)

    for r in codebook(store):
        walk(r)
    return out


def find_code(store: Store, name: str) -> dict:
    ensure_starter_codebook(store)
    return store.code(name)


def add_code(store: Store, name: str, *, parent: str | None = None, **fields) -> int:
    name = " ".join((name or "").split())
    if not name:
        raise CodingError("a code needs a name")
    ensure_starter_codebook(store)
    if _code_or_none(store, name):
        raise CodingError(f"there is already a code '{name}'")
    parent_id = store.code(parent)["id"] if parent else None
    return store.add_code(new_guid(), name, parent_id, **fields)


def update_code(store: Store, name: str, /, *, parent: str | None = None, **fields) -> None:
    """Change a code; fields may hold a new `name` (hence `name` is positional-only)."""
    code = store.code(name)
    changes = {k: v for k, v in fields.items() if v is not None}
    if "name" in changes:
        changes["name"] = " ".join(changes["name"].split())
        other = _code_or_none(store, changes["name"])
        if not changes["name"] or (other and other["id"] != code["id"]):
            raise CodingError(f"cannot rename to '{changes['name']}': empty or taken")
    if parent is not None:
        pid = store.code(parent)["id"] if parent else None
        # a code cannot move under itself or its own descendant
        ancestors, cur = set(), pid
        by_id = {c["id"]: c for c in store.codes()}
        while cur is not None and cur not in ancestors:
            ancestors.add(cur)
            cur = by_id[cur]["parent"]
        if code["id"] in ancestors:
            raise CodingError(f"'{parent}' is '{name}' or below it: a code cannot be its own ancestor")
        changes["parent"] = pid
    store.update_code(code["id"], **changes)


def _code_or_none(store: Store, name: str) -> dict | None:
    try:
        return store.code(name)
    except NotFound:
        return None


def read_codebook_csv(text: str) -> list[dict]:
    """Rows of a codebook CSV (columns CODEBOOK_COLUMNS; only name is required). A
    semicolon-separated file (Swedish Excel) is read as well."""
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.strip() else ""
    if "name" not in first.lower():
        raise CodingError("a codebook CSV needs a header row with at least the column 'name'")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    for i, r in enumerate(csv.DictReader(io.StringIO(text), delimiter=delimiter), start=2):
        r = {(k or "").strip().lower(): (v or "").strip() for k, v in r.items()}
        if not r.get("name"):
            raise CodingError(f"codebook CSV line {i}: the name is empty")
        rows.append({k: r.get(k, "") for k in CODEBOOK_COLUMNS})
    return rows


def import_codebook_rows(store: Store, rows: list[dict]) -> int:
    """Add codes (parents first); a code that exists by name is updated, not doubled."""
    names = {r["name"].lower() for r in rows}
    for r in rows:
        if r.get("parent") and r["parent"].lower() not in names and not _code_or_none(store, r["parent"]):
            raise CodingError(f"code '{r['name']}': its parent '{r['parent']}' is not in the codebook or the file")
    _check_no_cycle(store, rows)
    pending, done = list(rows), 0
    while pending:
        progress = False
        for r in list(pending):
            parent = _code_or_none(store, r["parent"]) if r.get("parent") else None
            if r.get("parent") and parent is None:
                continue  # its parent comes later in the file
            fields = {k: r.get(k) or "" for k in ("description", "inclusion", "exclusion", "examples")}
            fields["color"] = r.get("color") or None
            existing = _code_or_none(store, r["name"])
            if existing:
                store.update_code(existing["id"], parent=parent["id"] if parent else None, **fields)
            else:
                store.add_code(r.get("guid") or new_guid(), r["name"], parent["id"] if parent else None, **fields)
            pending.remove(r)
            done += 1
            progress = True
        if not progress:
            raise CodingError("the codebook's parents form a cycle: " + ", ".join(r["name"] for r in pending))
    return done


def _check_no_cycle(store: Store, rows: list[dict]) -> None:
    """Refuse, before anything is written, rows whose parents would make a code its own
    ancestor: in the file alone, or together with the codes already in the store (a
    file that moves an existing code under one of its descendants)."""
    by_id = {c["id"]: c for c in store.codes()}
    parent_of = {c["name"].lower(): (by_id[c["parent"]]["name"].lower() if c["parent"] in by_id else None)
                 for c in by_id.values()}
    shown = {c["name"].lower(): c["name"] for c in by_id.values()}
    for r in rows:
        parent_of[r["name"].lower()] = r["parent"].lower() if r.get("parent") else None
        shown[r["name"].lower()] = r["name"]
    for name in parent_of:
        chain, cur = [], name
        while cur is not None and cur not in chain:
            chain.append(cur)
            cur = parent_of.get(cur)
        if cur is not None:
            loop = chain[chain.index(cur):] + [cur]
            raise CodingError("the codebook's parents form a cycle: " + " under ".join(shown.get(n, n) for n in loop))


def codebook_csv(store: Store) -> str:
    by_id = {c.id: c for c in flat_codebook(store)}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CODEBOOK_COLUMNS)
    for c in by_id.values():
        w.writerow([c.name, by_id[c.parent].name if c.parent in by_id else "", c.description, c.inclusion, c.exclusion,
                    c.examples, c.color or ""])
    return out.getvalue()


def description_for_exchange(c: Code) -> str:
    """One description holding the notes, for REFI-QDA (other tools show it as is)."""
    parts = [c.description.strip()]
    for attr, heading in DESCRIPTION_PARTS:
        value = getattr(c, attr).strip()
        if value:
            parts.append(f"{heading}\n{value}")
    return "\n\n".join(p for p in parts if p)


def split_exchange_description(text: str) -> dict:
    """The inverse of description_for_exchange."""
    out = {"description": "", "inclusion": "", "exclusion": "", "examples": ""}
    current = "description"
    chunks: dict[str, list[str]] = {k: [] for k in out}
    headings = {h: a for a, h in DESCRIPTION_PARTS}
    for line in (text or "").splitlines():
        if line.strip() in headings:
            current = headings[line.strip()]
            continue
        chunks[current].append(line)
    return {k: "\n".join(v).strip() for k, v in chunks.items()}


# --- coders -----------------------------------------------------------------------------

def hash_password(password: str) -> str:
    """scrypt (stdlib), salted; stored as scrypt$n$r$p$salt$hash."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=2 ** 14, r=8, p=1, dklen=32)
    return "scrypt$16384$8$1$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def coder(store: Store, name: str, *, create: bool = True) -> dict:
    name = " ".join((name or "").split())
    if not name:
        raise CodingError("a coder needs a name (--coder NAME)")
    return store.coder(name, create_guid=new_guid() if create else None)


def add_coder(store: Store, name: str, password: str | None = None) -> dict:
    c = coder(store, name)
    if password is not None:
        if len(password) < 8:
            raise CodingError("a password needs at least 8 characters")
        store.set_coder_password(c["id"], hash_password(password))
    return store.coder(c["name"])


# --- coding -----------------------------------------------------------------------------

def _passage(store: Store, passage_id: str) -> dict:
    return store.passage_by_id(passage_id)


def coding_row(store: Store, code_id: int, passage_id: str, start: int | None = None, end: int | None = None) -> dict:
    p = _passage(store, passage_id)
    text = p["text"]
    if (start is None) != (end is None):
        raise CodingError("a span needs both --start and --end")
    if start is not None:
        if not (0 <= start < end <= len(text)):
            raise CodingError(f"span {start}-{end} is outside the passage (its text has {len(text)} characters)")
        snippet = text[start:end]
        if not snippet.strip():
            raise CodingError("the span holds only white space")
    else:
        snippet = text
    return {"guid": new_guid(), "passage_id": passage_id, "doc_id": p["doc_id"], "code": code_id, "start": start,
            "end": end, "text": snippet}


def assign(store: Store, coder_name: str, code_name: str, passage_id: str, start: int | None = None,
           end: int | None = None) -> list[int]:
    """Code a passage (or the span start:end of its text). Returns the new coding ids
    (empty when the same coding already exists)."""
    code = find_code(store, code_name)
    who = coder(store, coder_name)
    return store.add_codings(who["id"], [coding_row(store, code["id"], passage_id, start, end)])


def assign_bulk(store: Store, coder_name: str, code_name: str, passage_ids: list[str]) -> list[int]:
    """Code many passages at once (from a search result): one action, one undo."""
    if not passage_ids:
        raise CodingError("no passages to code")
    code = find_code(store, code_name)
    who = coder(store, coder_name)
    return store.add_codings(who["id"], [coding_row(store, code["id"], pid) for pid in dict.fromkeys(passage_ids)])


def remove(store: Store, coder_name: str, coding_ids: list[int]) -> list[int]:
    who = coder(store, coder_name, create=False)
    removed = store.remove_codings(who["id"], coding_ids)
    if not removed:
        raise NotFound(f"no live coding {', '.join(map(str, coding_ids))} by {who['name']}")
    return removed


def undo(store: Store, coder_name: str) -> dict:
    who = coder(store, coder_name, create=False)
    done = store.undo_last(who["id"])
    if done is None:
        raise CodingError(f"{who['name']} has nothing to undo")
    return done


def codings(store: Store, *, coder_name: str | None = None, code_name: str | None = None,
            passage_id: str | None = None, doc_id: int | None = None, with_children: bool = True) -> list[dict]:
    coder_id = coder(store, coder_name, create=False)["id"] if coder_name else None
    code_ids = None
    if code_name:
        code = find_code(store, code_name)
        code_ids = [code["id"]] + (descendants(store, code["id"]) if with_children else [])
    return store.codings(coder_id=coder_id, code_ids=code_ids, passage_ids=[passage_id] if passage_id else None,
                         doc_id=doc_id)


def descendants(store: Store, code_id: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for c in store.codes():
        children.setdefault(c["parent"], []).append(c["id"])
    out, todo = [], list(children.get(code_id, []))
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(children.get(c, []))
    return out


def coding_json(r: dict) -> dict:
    return {
        "id": r["id"], "guid": r["guid"], "passage_id": r["passage_id"], "code": r["code_name"], "coder": r["coder_name"],
        "start": r["start"], "end": r["end"], "text": r["text"], "document": r["document"], "title": r["title"],
        "page": r["page_start"], "doc_type": r["doc_type"], "county": r["county"], "path": r["path"],
        "in_store": r["document"] is not None,
    }


# --- memos ------------------------------------------------------------------------------

def add_memo(store: Store, target_kind: str, target: str, text: str, coder_name: str | None = None) -> int:
    if target_kind not in MEMO_TARGETS:
        raise CodingError(f"a memo is on a {', '.join(MEMO_TARGETS)}, not '{target_kind}'")
    if not (text or "").strip():
        raise CodingError("the memo is empty")
    if target_kind == "code":
        target = str(find_code(store, target)["id"])
    elif target_kind == "passage":
        _passage(store, target)
    else:
        target = str(store.resolve_doc(str(target)))
    who = coder(store, coder_name)["id"] if coder_name else None
    return store.add_memo(new_guid(), target_kind, target, who, text.strip())


# --- suggestions ------------------------------------------------------------------------

@dataclass
class Suggestion:
    passage_id: str
    code: str
    score: float
    text: str = ""
    title: str = ""
    page: int | None = None
    document: int | None = None

    def to_json(self) -> dict:
        return {"passage_id": self.passage_id, "code": self.code, "score": round(self.score, 4), "text": self.text,
                "title": self.title, "page": self.page, "document": self.document}


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n else v


# (model, code text) -> its embedding: ranking codes for a passage embeds every code's
# description, which at a few texts a second on a CPU would take seconds per passage.
_CODE_VECTORS: dict[tuple[str, str], np.ndarray] = {}
_CODE_VECTORS_MAX = 5000


def _code_vectors(embedder, texts: list[str]) -> list[np.ndarray]:
    model = str(getattr(embedder, "model_name", id(embedder)))
    missing = [t for t in dict.fromkeys(texts) if (model, t) not in _CODE_VECTORS]
    if missing:
        if len(_CODE_VECTORS) + len(missing) > _CODE_VECTORS_MAX:
            _CODE_VECTORS.clear()
        for t, v in zip(missing, embedder.embed_queries(missing)):
            _CODE_VECTORS[(model, t)] = _unit(np.asarray(v, dtype=np.float32))
    return [_CODE_VECTORS[(model, t)] for t in texts]


# a passage this close to a passage already coded with a code is very likely the same
# theme; below it, closeness to examples says little (e5 puts most passages of this
# corpus at 0.8-0.88 of each other), so only the part above counts
EXAMPLE_SIMILARITY_FLOOR = 0.88


def description_vectors(embedder, codes: list[Code]) -> np.ndarray:
    """Each code's name, description, inclusion note and examples embedded as a query
    (e5 matches queries to passages), cached."""
    return np.stack(_code_vectors(embedder, [c.prototype_text() for c in codes]))


def code_prototype(store: Store, code: Code, embedder, index) -> np.ndarray:
    """A code as a vector to search passages with: its description, averaged with the
    mean of the passages coded with it, which carry the researchers' own reading."""
    desc = description_vectors(embedder, [code])[0]
    coded = {r["passage_id"] for r in store.codings(code_ids=[code.id])}
    vecs = _passage_vectors(store, index, list(coded))
    if len(vecs):
        return _unit(desc + _unit(vecs.mean(axis=0)))
    return desc


def _passage_vectors(store: Store, index, passage_ids: list[str]) -> np.ndarray:
    if not passage_ids:
        return np.zeros((0, 0), dtype=np.float32)
    rows = store.passage_rows(f"p.passage_id IN ({','.join('?' * len(passage_ids))})", tuple(passage_ids))
    vecs = index.vectors([r["id"] for r in rows]) if rows else None
    return vecs if vecs is not None else np.zeros((0, 0), dtype=np.float32)


def suggest_for_code(store: Store, embedder, index, code_name: str, *, coder_name: str | None = None,
                     k: int = 10) -> list[Suggestion]:
    """Passages not yet coded with the code (by this coder, or anyone when no coder is
    given) and not rejected for it, ranked by similarity to the code."""
    code = _code_obj(store, code_name)
    coder_id = coder(store, coder_name, create=False)["id"] if coder_name else None
    proto = code_prototype(store, code, embedder, index)
    skip = {r["passage_id"] for r in store.codings(code_ids=[code.id], coder_id=coder_id)}
    skip |= store.rejected_passages(code.id, coder_id)
    hits = index.search(proto, k + len(skip) + 20)
    rows = store.passages_by_rowid([rowid for rowid, _ in hits])
    out = []
    for rowid, score in hits:
        r = rows.get(rowid)
        if r is None or r["passage_id"] in skip or r["kind"] == "footnotes":
            continue
        out.append(Suggestion(r["passage_id"], code.name, float(score), r["text"], r["title"], r["page_start"], r["doc_id"]))
        if len(out) >= k:
            break
    return out


def suggest_for_passage(store: Store, embedder, index, passage_id: str, *, coder_name: str | None = None,
                        k: int = 5) -> list[Suggestion]:
    """Codes for a passage: similarity of the passage to each code's description, plus
    a bonus when it is very close to a passage already coded with the code. Codes the
    coder already applied or rejected here are left out."""
    p = _passage(store, passage_id)
    vec = index.vectors([p["id"]])
    if vec is None or not len(vec):
        raise NotFound(f"passage {passage_id} has no vector yet: run `textmine reindex`")
    v = _unit(vec[0])
    coder_id = coder(store, coder_name, create=False)["id"] if coder_name else None
    applied = {r["code"] for r in store.codings(passage_ids=[passage_id], coder_id=coder_id)}
    rejected = store.rejected_codes(passage_id, coder_id)
    codes = [c for c in flat_codebook(store) if c.id not in applied and c.id not in rejected]
    if not codes:
        return []
    scores = description_vectors(embedder, codes) @ v
    examples: dict[int, set[str]] = {}
    for r in store.codings():
        if r["passage_id"] != passage_id:
            examples.setdefault(r["code"], set()).add(r["passage_id"])
    for i, c in enumerate(codes):
        ex = _passage_vectors(store, index, sorted(examples.get(c.id, ())))
        if len(ex):
            scores[i] += max(0.0, float((ex @ v).max()) - EXAMPLE_SIMILARITY_FLOOR)
    order = np.argsort(-scores)[:k]
    return [Suggestion(passage_id, codes[i].name, float(scores[i]), p["text"], p["title"], p["page_start"], p["doc_id"])
            for i in order]


def decide(store: Store, coder_name: str, code_name: str, passage_id: str, decision: str) -> list[int]:
    """Accept (codes the passage) or reject (remembered: not suggested again) a suggestion."""
    if decision not in ("accept", "reject"):
        raise CodingError("a suggestion is accepted or rejected")
    code = find_code(store, code_name)
    who = coder(store, coder_name)
    _passage(store, passage_id)
    store.decide_suggestion(code["id"], passage_id, who["id"], "accepted" if decision == "accept" else "rejected")
    if decision == "accept":
        return assign(store, who["name"], code["name"], passage_id)
    return []


def _code_obj(store: Store, name: str) -> Code:
    row = find_code(store, name)
    for c in flat_codebook(store):
        if c.id == row["id"]:
            return c
    raise NotFound(f"no code '{name}'")
