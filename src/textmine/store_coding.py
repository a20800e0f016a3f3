"""The coding tables of the store: codebook, coders, codings, memos, suggestion
decisions, quotes and web sessions. `Store` inherits this mixin so all SQL stays in
the store layer (store.py holds the document side).

Codings point at passages by their stable `passage_id` text and keep a snapshot of the
coded text: passages are rebuilt on reindex (their row ids change) and documents may be
removed, but a researcher's coding is never lost with them."""

from __future__ import annotations

import json
import time

from .errors import NotFound

CODING_SCHEMA = """
CREATE TABLE IF NOT EXISTS codes (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    parent INTEGER REFERENCES codes(id) ON DELETE SET NULL,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL DEFAULT '',
    inclusion TEXT NOT NULL DEFAULT '',
    exclusion TEXT NOT NULL DEFAULT '',
    examples TEXT NOT NULL DEFAULT '',
    color TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS coders (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password TEXT,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS codings (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    passage_id TEXT NOT NULL,
    doc_id INTEGER,
    code INTEGER NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
    coder INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    start INTEGER,
    end INTEGER,
    text TEXT NOT NULL,
    action INTEGER,
    created REAL NOT NULL,
    removed REAL
);
CREATE INDEX IF NOT EXISTS codings_passage ON codings(passage_id);
CREATE INDEX IF NOT EXISTS codings_code ON codings(code, coder);
CREATE TABLE IF NOT EXISTS coding_actions (
    id INTEGER PRIMARY KEY,
    coder INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    codings TEXT NOT NULL,
    at REAL NOT NULL,
    undone REAL
);
CREATE TABLE IF NOT EXISTS memos (
    id INTEGER PRIMARY KEY,
    guid TEXT NOT NULL UNIQUE,
    target_kind TEXT NOT NULL,
    target TEXT NOT NULL,
    coder INTEGER REFERENCES coders(id) ON DELETE SET NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS memos_target ON memos(target_kind, target);
CREATE TABLE IF NOT EXISTS suggestion_decisions (
    code INTEGER NOT NULL REFERENCES codes(id) ON DELETE CASCADE,
    passage_id TEXT NOT NULL,
    coder INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    decision TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (code, passage_id, coder)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quotes (
    passage_id TEXT PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    source TEXT,
    respondent TEXT,
    size TEXT,
    role TEXT,
    organisation TEXT,
    region TEXT
);
CREATE INDEX IF NOT EXISTS quotes_doc ON quotes(doc_id);
CREATE TABLE IF NOT EXISTS web_sessions (
    token TEXT PRIMARY KEY,
    coder INTEGER NOT NULL REFERENCES coders(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL
);
"""

CODE_FIELDS = ("name", "description", "inclusion", "exclusion", "examples", "color")


class CodingTables:
    """SQL for the coding workbench; mixed into Store (needs self.db, self.transaction)."""

    # --- codebook --------------------------------------------------------------

    def codes(self) -> list[dict]:
        """All codes in codebook order (parents before children, then position)."""
        return [dict(r) for r in self.db.execute("SELECT * FROM codes ORDER BY position, id")]

    def code(self, name_or_id: str | int) -> dict:
        if isinstance(name_or_id, int) or str(name_or_id).isdigit():
            row = self.db.execute("SELECT * FROM codes WHERE id=?", (int(name_or_id),)).fetchone()
            if row:
                return dict(row)
        row = self.db.execute("SELECT * FROM codes WHERE name=?", (str(name_or_id).strip(),)).fetchone()
        if row is None:
            raise NotFound(f"no code '{name_or_id}' in the codebook (see `textmine code codebook`)")
        return dict(row)

    def add_code(self, guid: str, name: str, parent: int | None = None, **fields) -> int:
        with self.transaction() as db:
            pos = db.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM codes").fetchone()[0]
            cur = db.execute(
                "INSERT INTO codes (guid, parent, name, description, inclusion, exclusion, examples, color, position, created)"
                " VALUES (?,?,?,?,?,?,?,?,?,?)",
                (guid, parent, name, fields.get("description") or "", fields.get("inclusion") or "",
                 fields.get("exclusion") or "", fields.get("examples") or "", fields.get("color"), pos, time.time()),
            )
            return cur.lastrowid

    def update_code(self, code_id: int, **fields) -> None:
        sets = {k: v for k, v in fields.items() if k in CODE_FIELDS + ("parent",)}
        if not sets:
            return
        with self.transaction() as db:
            db.execute(
                f"UPDATE codes SET {', '.join(f'{k}=?' for k in sets)} WHERE id=?", (*sets.values(), code_id)
            )

    def delete_code(self, code_id: int) -> None:
        """Children move up to the deleted code's parent; its codings go with it."""
        with self.transaction() as db:
            parent = db.execute("SELECT parent FROM codes WHERE id=?", (code_id,)).fetchone()
            db.execute("UPDATE codes SET parent=? WHERE parent=?", (parent[0] if parent else None, code_id))
            db.execute("DELETE FROM codes WHERE id=?", (code_id,))

    def meta_get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # --- coders ----------------------------------------------------------------

    def coders(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT id, guid, name, password IS NOT NULL AS has_password, created"
                                                 " FROM coders ORDER BY name")]

    def coder(self, name: str, *, create_guid: str | None = None) -> dict:
        """A coder by name; created (without password) when create_guid is given."""
        row = self.db.execute("SELECT * FROM coders WHERE name=?", (name.strip(),)).fetchone()
        if row is None and create_guid:
            with self.transaction() as db:
                db.execute("INSERT OR IGNORE INTO coders (guid, name, created) VALUES (?,?,?)",
                           (create_guid, name.strip(), time.time()))
            row = self.db.execute("SELECT * FROM coders WHERE name=?", (name.strip(),)).fetchone()
        if row is None:
            raise NotFound(f"no coder '{name}' (coders are made by `textmine code coder NAME` or by their first coding)")
        return dict(row)

    def coder_by_id(self, coder_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM coders WHERE id=?", (coder_id,)).fetchone()
        return dict(row) if row else None

    def set_coder_password(self, coder_id: int, password_hash: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE coders SET password=? WHERE id=?", (password_hash, coder_id))

    # --- codings ---------------------------------------------------------------

    def add_codings(self, coder_id: int, rows: list[dict]) -> list[int]:
        """Insert codings as one undoable action; a coding equal to a live one (same
        passage, code, coder and span) is not doubled. Returns the new ids."""
        now = time.time()
        ids = []
        with self.transaction() as db:
            for r in rows:
                same = db.execute(
                    "SELECT id FROM codings WHERE passage_id=? AND code=? AND coder=? AND start IS ? AND end IS ?"
                    " AND removed IS NULL", (r["passage_id"], r["code"], coder_id, r.get("start"), r.get("end"))
                ).fetchone()
                if same:
                    continue
                cur = db.execute(
                    "INSERT INTO codings (guid, passage_id, doc_id, code, coder, start, end, text, created)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    (r["guid"], r["passage_id"], r.get("doc_id"), r["code"], coder_id, r.get("start"), r.get("end"),
                     r["text"], r.get("created") or now),
                )
                ids.append(cur.lastrowid)
            if ids:
                self._log_action(db, coder_id, "assign", ids, now)
        return ids

    def remove_codings(self, coder_id: int, coding_ids: list[int]) -> list[int]:
        """Mark a coder's live codings removed, as one undoable action."""
        now = time.time()
        with self.transaction() as db:
            marks = ",".join("?" * len(coding_ids)) or "NULL"
            live = [r[0] for r in db.execute(
                f"SELECT id FROM codings WHERE id IN ({marks}) AND coder=? AND removed IS NULL", (*coding_ids, coder_id))]
            if live:
                db.execute(f"UPDATE codings SET removed=? WHERE id IN ({','.join('?' * len(live))})", (now, *live))
                self._log_action(db, coder_id, "remove", live, now)
        return live

    def _log_action(self, db, coder_id: int, kind: str, ids: list[int], at: float) -> None:
        db.execute("INSERT INTO coding_actions (coder, kind, codings, at) VALUES (?,?,?,?)",
                   (coder_id, kind, json.dumps(ids), at))

    def undo_last(self, coder_id: int) -> dict | None:
        """Revert the coder's most recent action not yet undone: an assignment is
        removed, a removal restored. Returns {kind, codings} or None."""
        with self.transaction() as db:
            row = db.execute("SELECT * FROM coding_actions WHERE coder=? AND undone IS NULL ORDER BY id DESC LIMIT 1",
                             (coder_id,)).fetchone()
            if row is None:
                return None
            ids = json.loads(row["codings"])
            marks = ",".join("?" * len(ids))
            if row["kind"] == "assign":
                db.execute(f"UPDATE codings SET removed=? WHERE id IN ({marks})", (time.time(), *ids))
            else:
                db.execute(f"UPDATE codings SET removed=NULL WHERE id IN ({marks})", ids)
            db.execute("UPDATE coding_actions SET undone=? WHERE id=?", (time.time(), row["id"]))
            return {"kind": row["kind"], "codings": ids}

    def codings(self, *, coder_id: int | None = None, code_ids: list[int] | None = None,
                passage_ids: list[str] | None = None, doc_id: int | None = None) -> list[dict]:
        """Live codings with their code, coder and (when still stored) passage and
        document context."""
        sql = (
            "SELECT c.*, k.name AS code_name, k.guid AS code_guid, k.color AS code_color, u.name AS coder_name,"
            " u.guid AS coder_guid, p.page_start, p.page_end, p.kind AS passage_kind, p.text AS passage_text,"
            " d.id AS document, d.title, d.doc_type, d.county, d.date, d.path, d.sha256"
            " FROM codings c JOIN codes k ON k.id = c.code JOIN coders u ON u.id = c.coder"
            " LEFT JOIN passages p ON p.passage_id = c.passage_id LEFT JOIN documents d ON d.id = p.doc_id"
            " WHERE c.removed IS NULL"
        )
        args: list = []
        if coder_id is not None:
            sql += " AND c.coder=?"
            args.append(coder_id)
        if code_ids:
            sql += f" AND c.code IN ({','.join('?' * len(code_ids))})"
            args += code_ids
        if passage_ids:
            sql += f" AND c.passage_id IN ({','.join('?' * len(passage_ids))})"
            args += passage_ids
        if doc_id is not None:
            sql += " AND p.doc_id=?"
            args.append(doc_id)
        sql += " ORDER BY d.id, p.seq, c.start, c.id"
        return [dict(r) for r in self.db.execute(sql, args)]

    def coding_counts(self) -> dict[int, int]:
        return {r[0]: r[1] for r in self.db.execute(
            "SELECT code, COUNT(*) FROM codings WHERE removed IS NULL GROUP BY code")}

    # --- memos -----------------------------------------------------------------

    def memos(self, target_kind: str | None = None, target: str | None = None) -> list[dict]:
        sql = ("SELECT m.*, u.name AS coder_name FROM memos m LEFT JOIN coders u ON u.id = m.coder")
        where, args = [], []
        if target_kind:
            where.append("m.target_kind=?")
            args.append(target_kind)
        if target is not None:
            where.append("m.target=?")
            args.append(str(target))
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [dict(r) for r in self.db.execute(sql + " ORDER BY m.created, m.id", args)]

    def add_memo(self, guid: str, target_kind: str, target: str, coder_id: int | None, text: str) -> int:
        now = time.time()
        with self.transaction() as db:
            return db.execute(
                "INSERT INTO memos (guid, target_kind, target, coder, text, created, updated) VALUES (?,?,?,?,?,?,?)",
                (guid, target_kind, str(target), coder_id, text, now, now),
            ).lastrowid

    # --- suggestions -------------------------------------------------------------

    def decide_suggestion(self, code_id: int, passage_id: str, coder_id: int, decision: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO suggestion_decisions (code, passage_id, coder, decision, at) VALUES (?,?,?,?,?)"
                " ON CONFLICT(code, passage_id, coder) DO UPDATE SET decision=excluded.decision, at=excluded.at",
                (code_id, passage_id, coder_id, decision, time.time()),
            )

    def rejected_passages(self, code_id: int, coder_id: int | None = None) -> set[str]:
        sql = "SELECT passage_id FROM suggestion_decisions WHERE code=? AND decision='rejected'"
        args: tuple = (code_id,)
        if coder_id is not None:
            sql += " AND coder=?"
            args += (coder_id,)
        return {r[0] for r in self.db.execute(sql, args)}

    def rejected_codes(self, passage_id: str, coder_id: int | None = None) -> set[int]:
        sql = "SELECT code FROM suggestion_decisions WHERE passage_id=? AND decision='rejected'"
        args: tuple = (passage_id,)
        if coder_id is not None:
            sql += " AND coder=?"
            args += (coder_id,)
        return {r[0] for r in self.db.execute(sql, args)}

    # --- quotes ------------------------------------------------------------------

    def replace_quotes(self, doc_id: int, quotes: list[dict]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM quotes WHERE doc_id=?", (doc_id,))
            db.executemany(
                "INSERT OR REPLACE INTO quotes (passage_id, doc_id, source, respondent, size, role, organisation, region)"
                " VALUES (:passage_id, :doc_id, :source, :respondent, :size, :role, :organisation, :region)",
                [{**q, "doc_id": doc_id} for q in quotes],
            )

    def documents_without_quotes_scan(self) -> list[int]:
        return [r[0] for r in self.db.execute(
            "SELECT DISTINCT p.doc_id FROM passages p WHERE p.kind='quote'"
            " AND NOT EXISTS (SELECT 1 FROM quotes q WHERE q.passage_id = p.passage_id)")]

    def quotes(self, *, size: str | None = None, role: str | None = None, organisation: str | None = None,
               doc_id: int | None = None, limit: int | None = None) -> list[dict]:
        sql = (
            "SELECT q.*, p.text, p.page_start, p.page_end, p.footnotes, d.title, d.path, d.doc_type, d.county, d.date"
            " FROM quotes q JOIN passages p ON p.passage_id = q.passage_id JOIN documents d ON d.id = p.doc_id"
        )
        where, args = [], []
        for col, val in (("q.size", size), ("q.role", role), ("q.organisation", organisation), ("q.doc_id", doc_id)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY d.id, p.seq"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in self.db.execute(sql, args)]

    def quote_for(self, passage_ids: list[str]) -> dict[str, dict]:
        if not passage_ids:
            return {}
        marks = ",".join("?" * len(passage_ids))
        return {r["passage_id"]: dict(r) for r in self.db.execute(
            f"SELECT * FROM quotes WHERE passage_id IN ({marks})", passage_ids)}

    # --- web sessions ------------------------------------------------------------

    def add_session(self, token_hash: str, coder_id: int, csrf: str, ttl: float) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute("DELETE FROM web_sessions WHERE expires < ?", (now,))
            db.execute("INSERT INTO web_sessions (token, coder, csrf, created, expires) VALUES (?,?,?,?,?)",
                       (token_hash, coder_id, csrf, now, now + ttl))

    def session(self, token_hash: str) -> dict | None:
        row = self.db.execute(
            "SELECT s.*, u.name AS coder_name FROM web_sessions s JOIN coders u ON u.id = s.coder"
            " WHERE s.token=? AND s.expires > ?", (token_hash, time.time())).fetchone()
        return dict(row) if row else None

    def drop_session(self, token_hash: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM web_sessions WHERE token=?", (token_hash,))
