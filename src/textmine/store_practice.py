"""The good-example catalogue's tables: examples built from `good_practice` passages,
their review history, and collections. `Store` inherits this mixin so all SQL stays in
the store layer.

An example keeps a snapshot of its source (document title, path, pages, text): passages
are rebuilt on reindex and documents may be removed, but a verified example and its
citation must survive both."""

from __future__ import annotations

import json
import time

from .errors import NotFound

PRACTICE_SCHEMA = """
CREATE TABLE IF NOT EXISTS good_examples (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    passage_ids TEXT NOT NULL,
    doc_id INTEGER,
    doc_sha256 TEXT,
    doc_title TEXT NOT NULL DEFAULT '',
    doc_type TEXT,
    doc_path TEXT,
    doc_issuer TEXT,
    pages TEXT NOT NULL DEFAULT '[]',
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    county TEXT,
    parties TEXT NOT NULL DEFAULT '[]',
    date TEXT,
    mechanism TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL DEFAULT '',
    score REAL,
    state TEXT NOT NULL DEFAULT 'candidate',
    reviewer TEXT,
    note TEXT NOT NULL DEFAULT '',
    reviewed REAL,
    edited TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS good_examples_county ON good_examples(county, state);
CREATE TABLE IF NOT EXISTS good_example_reviews (
    id INTEGER PRIMARY KEY,
    example INTEGER NOT NULL REFERENCES good_examples(id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL,
    state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    changes TEXT NOT NULL DEFAULT '{}',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS example_collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    description TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS example_collection_items (
    collection INTEGER NOT NULL REFERENCES example_collections(id) ON DELETE CASCADE,
    example INTEGER NOT NULL REFERENCES good_examples(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (collection, example)
) WITHOUT ROWID;
"""

# what the builder fills in; a reviewer's edit of one of these is kept on rebuild
AUTO_FIELDS = ("passage_ids", "doc_id", "doc_sha256", "doc_title", "doc_type", "doc_path", "doc_issuer", "pages",
               "title", "kind", "county", "parties", "date", "mechanism", "text", "score")
EDITABLE = ("title", "kind", "county", "parties", "date", "mechanism")


def example_row(r) -> dict:
    d = dict(r)
    d["passage_ids"] = json.loads(d["passage_ids"])
    d["pages"] = json.loads(d["pages"])
    d["parties"] = json.loads(d["parties"])
    d["edited"] = json.loads(d["edited"])
    return d


class PracticeTables:
    """Mixin for Store: the catalogue's SQL."""

    db: object

    def upsert_examples(self, built: list[dict]) -> dict:
        """Write what the builder found. New keys become candidates; a candidate or a
        reviewed example takes the builder's values except the fields a reviewer
        edited; unreviewed candidates the builder no longer finds are dropped, reviewed
        ones stay (they are the coordinator's work)."""
        now = time.time()
        added = updated = dropped = 0
        with self.transaction() as db:
            old = {r["key"]: example_row(r) for r in db.execute("SELECT * FROM good_examples")}
            for e in built:
                values = {f: e[f] for f in AUTO_FIELDS}
                values["passage_ids"] = json.dumps(values["passage_ids"])
                values["pages"] = json.dumps(values["pages"])
                values["parties"] = json.dumps(values["parties"], ensure_ascii=False)
                prev = old.pop(e["key"], None)
                if prev is None:
                    cols = ["key", *values, "created", "updated"]
                    db.execute(f"INSERT INTO good_examples ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                               (e["key"], *values.values(), now, now))
                    added += 1
                    continue
                keep = set(prev["edited"])
                changes = {f: v for f, v in values.items() if f not in keep}
                db.execute(f"UPDATE good_examples SET {','.join(f'{f}=?' for f in changes)}, updated=? WHERE id=?",
                           (*changes.values(), now, prev["id"]))
                updated += 1
            for prev in old.values():
                if prev["state"] == "candidate" and not prev["edited"] and not self._in_collection(db, prev["id"]):
                    db.execute("DELETE FROM good_examples WHERE id=?", (prev["id"],))
                    dropped += 1
        return {"added": added, "updated": updated, "dropped": dropped}

    @staticmethod
    def _in_collection(db, example_id: int) -> bool:
        return db.execute("SELECT 1 FROM example_collection_items WHERE example=?", (example_id,)).fetchone() is not None

    def examples(self, *, state: str | None = None, county: str | None = None, kind: str | None = None,
                 collection: int | None = None, doc_id: int | None = None, ids: list[int] | None = None) -> list[dict]:
        where, args = [], []
        for col, val in (("e.state", state), ("e.county", county), ("e.kind", kind), ("e.doc_id", doc_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        # live_doc: the document still stored under that id with the same content (an id
        # can be reused after a removal; a verified example must not then point elsewhere)
        sql = ("SELECT e.*, d.id AS live_doc FROM good_examples e"
               " LEFT JOIN documents d ON d.id = e.doc_id AND d.sha256 IS e.doc_sha256")
        order = "ORDER BY e.county IS NULL, e.county, e.date DESC, e.id"
        if collection is not None:
            sql += " JOIN example_collection_items ci ON ci.example = e.id AND ci.collection = ?"
            args.insert(0, collection)
            order = "ORDER BY ci.position, e.id"
        if ids is not None:
            where.append(f"e.id IN ({','.join('?' * len(ids))})" if ids else "0")
            args.extend(ids)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [example_row(r) for r in self.db.execute(f"{sql} {order}", args)]

    def example(self, example_id: int) -> dict:
        r = self.db.execute("SELECT e.*, d.id AS live_doc FROM good_examples e LEFT JOIN documents d"
                            " ON d.id = e.doc_id AND d.sha256 IS e.doc_sha256 WHERE e.id=?", (example_id,)).fetchone()
        if r is None:
            raise NotFound(f"exemplet {example_id} finns inte")
        return example_row(r)

    def review_example(self, example_id: int, reviewer: str, state: str, note: str, changes: dict) -> None:
        """Set the state (and edited fields) of an example and log the review."""
        prev = self.example(example_id)
        now = time.time()
        edited = sorted(set(prev["edited"]) | set(changes))
        values = {f: (json.dumps(v, ensure_ascii=False) if f == "parties" else v) for f, v in changes.items()}
        with self.transaction() as db:
            sets = ", ".join([f"{f}=?" for f in values] + ["state=?", "reviewer=?", "note=?", "reviewed=?", "edited=?",
                                                             "updated=?"])
            db.execute(f"UPDATE good_examples SET {sets} WHERE id=?",
                       (*values.values(), state, reviewer, note, now, json.dumps(edited), now, example_id))
            db.execute("INSERT INTO good_example_reviews (example, reviewer, state, note, changes, at) VALUES (?,?,?,?,?,?)",
                       (example_id, reviewer, state, note, json.dumps(changes, ensure_ascii=False), now))

    def example_reviews(self, example_id: int) -> list[dict]:
        rows = self.db.execute("SELECT * FROM good_example_reviews WHERE example=? ORDER BY at, id", (example_id,))
        return [dict(r, changes=json.loads(r["changes"])) for r in rows]

    # --- collections -------------------------------------------------------------------

    def collections(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT c.*, COUNT(ci.example) AS n_examples, SUM(e.state = 'verified') AS n_verified FROM example_collections c"
            " LEFT JOIN example_collection_items ci ON ci.collection = c.id LEFT JOIN good_examples e ON e.id = ci.example"
            " GROUP BY c.id ORDER BY c.name")
        return [dict(r, n_verified=r["n_verified"] or 0) for r in rows]

    def collection(self, ref: str | int) -> dict:
        """A collection by id or by name."""
        if isinstance(ref, int) or str(ref).isdigit():
            r = self.db.execute("SELECT * FROM example_collections WHERE id=?", (int(ref),)).fetchone()
        else:
            r = self.db.execute("SELECT * FROM example_collections WHERE name=?", (str(ref).strip(),)).fetchone()
        if r is None:
            raise NotFound(f"samlingen {ref} finns inte")
        return dict(r)

    def add_collection(self, name: str, description: str) -> int:
        with self.transaction() as db:
            cur = db.execute("INSERT INTO example_collections (name, description, created) VALUES (?,?,?)",
                             (name, description, time.time()))
            return cur.lastrowid

    def add_to_collection(self, collection_id: int, example_ids: list[int]) -> int:
        with self.transaction() as db:
            pos = db.execute("SELECT COALESCE(MAX(position), 0) FROM example_collection_items WHERE collection=?",
                             (collection_id,)).fetchone()[0]
            added = 0
            for eid in example_ids:
                pos += 1
                cur = db.execute("INSERT OR IGNORE INTO example_collection_items (collection, example, position) VALUES (?,?,?)",
                                 (collection_id, eid, pos))
                added += cur.rowcount
        return added

    def remove_from_collection(self, collection_id: int, example_ids: list[int]) -> int:
        with self.transaction() as db:
            return sum(db.execute("DELETE FROM example_collection_items WHERE collection=? AND example=?",
                                  (collection_id, eid)).rowcount for eid in example_ids)

    def example_collections(self, example_id: int) -> list[dict]:
        rows = self.db.execute("SELECT c.* FROM example_collections c JOIN example_collection_items ci ON ci.collection = c.id"
                               " WHERE ci.example=? ORDER BY c.name", (example_id,))
        return [dict(r) for r in rows]
