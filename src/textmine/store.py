"""The embedded store: one SQLite file under the home folder with documents, pages,
blocks, passages, rulings and ingest failures. SQL lives here and in store_coding.py
(the coding workbench's tables, mixed into Store) and nowhere else.

Each document is written in one transaction, so a crash or kill never leaves half a
document: SQLite's journal rolls it back and the next ingest completes it."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import NotFound, StoreError
from .models import Block, Document, Page
from .store_coding import CODING_SCHEMA, CodingTables
from .store_practice import PRACTICE_SCHEMA, PracticeTables

SCHEMA_VERSION = 7
DB_NAME = "textmine.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    format TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    title TEXT,
    date TEXT,
    issuer TEXT,
    n_pages INTEGER NOT NULL,
    n_ocr_pages INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER,
    ingested_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_path ON documents(path);
CREATE TABLE IF NOT EXISTS pages (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0,
    width REAL,
    height REAL,
    PRIMARY KEY (doc_id, number)
);
CREATE TABLE IF NOT EXISTS blocks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    level INTEGER,
    number TEXT,
    ref_page INTEGER,
    refs TEXT,
    bbox TEXT,
    rows TEXT
);
CREATE INDEX IF NOT EXISTS blocks_doc ON blocks(doc_id, page, seq);
CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    page INTEGER NOT NULL,
    block INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    label TEXT NOT NULL,
    text TEXT NOT NULL,
    norm TEXT NOT NULL,
    data TEXT
);
CREATE INDEX IF NOT EXISTS entities_doc ON entities(doc_id, page, block);
CREATE INDEX IF NOT EXISTS entities_norm ON entities(label, norm);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    passage_id TEXT NOT NULL UNIQUE,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    kind TEXT NOT NULL,
    heading_path TEXT,
    text TEXT NOT NULL,
    footnotes TEXT,
    spans TEXT,
    content_hash TEXT NOT NULL,
    n_words INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_doc ON passages(doc_id, seq);
CREATE INDEX IF NOT EXISTS passages_hash ON passages(content_hash);
CREATE TABLE IF NOT EXISTS passage_facets (
    passage INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    norm TEXT NOT NULL,
    PRIMARY KEY (passage, label, norm)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS passage_facets_norm ON passage_facets(label, norm);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(terms, tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS passages_vocab USING fts5vocab(passages_fts, 'row');
CREATE TRIGGER IF NOT EXISTS passages_fts_delete AFTER DELETE ON passages BEGIN
    DELETE FROM passages_fts WHERE rowid = old.id;
END;
CREATE TABLE IF NOT EXISTS embeddings (
    content_hash TEXT NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (content_hash, model)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rulings (
    doc_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    court TEXT,
    court_level TEXT,
    decision_date TEXT,
    referat TEXT,
    outcome TEXT,
    card TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ruling_refs (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    ref TEXT NOT NULL,
    PRIMARY KEY (doc_id, kind, ref)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ruling_refs_ref ON ruling_refs(kind, ref);
CREATE TABLE IF NOT EXISTS passage_labels (
    passage_id TEXT NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    assigned INTEGER NOT NULL,
    PRIMARY KEY (passage_id, label)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS passage_labels_label ON passage_labels(label, assigned, score);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT PRIMARY KEY,
    sha256 TEXT,
    error TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


class Store(CodingTables, PracticeTables):
    """Access to the SQLite store under `home`."""

    def __init__(self, home: str | Path, *, create: bool = True):
        self.home = Path(home)
        self.path = self.home / DB_NAME
        if not self.path.exists() and not create:
            raise StoreError(f"no store in {self.home}: run `textmine ingest` first (or pass --home)")
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self.db.executescript(CODING_SCHEMA)  # schema 4 -> 5: the coding workbench
            self.db.executescript(PRACTICE_SCHEMA)  # schema 6 -> 7: the good-example catalogue
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store {self.path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot create the store in {self.home}: {exc.strerror}") from exc

    def _check_version(self) -> None:
        row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        cols = {r["name"] for r in self.db.execute("PRAGMA table_info(documents)")}
        if "facts" not in cols:  # schema 1 -> 2: entities (table created above) and facts
            self.db.execute("ALTER TABLE documents ADD COLUMN facts TEXT")
        if "county" not in cols:  # schema 2 -> 3: passages, facets, FTS5, embeddings (above)
            self.db.execute("ALTER TABLE documents ADD COLUMN county TEXT")
        if row is None:
            self.db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row["value"]) > SCHEMA_VERSION:
            raise StoreError(f"the store {self.path} was written by a newer textmine (schema {row['value']})")
        elif int(row["value"]) < SCHEMA_VERSION:
            self.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
            self._passage_count = None  # data_version does not move for this connection's own commits

    # --- documents -------------------------------------------------------------

    def has_sha(self, sha256: str) -> int | None:
        row = self.db.execute("SELECT id FROM documents WHERE sha256=?", (sha256,)).fetchone()
        return row["id"] if row else None

    def add_document(self, doc: Document, *, size_bytes: int | None = None) -> int:
        """Store a parsed document with its pages and blocks in one transaction.
        A document previously stored from the same path with other content is replaced."""
        with self.transaction() as db:
            old = db.execute("SELECT id FROM documents WHERE path=? AND sha256<>?", (doc.path, doc.sha256)).fetchall()
            for row in old:
                db.execute("DELETE FROM documents WHERE id=?", (row["id"],))
            cur = db.execute(
                "INSERT INTO documents (sha256, path, format, doc_type, title, date, issuer, n_pages, n_ocr_pages,"
                " size_bytes, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc.sha256, doc.path, doc.format, doc.doc_type, doc.title, doc.date, doc.issuer,
                    doc.n_pages, sum(1 for p in doc.pages if p.ocr), size_bytes, time.time(),
                ),
            )
            doc_id = cur.lastrowid
            db.executemany(
                "INSERT INTO pages (doc_id, number, ocr, width, height) VALUES (?,?,?,?,?)",
                [(doc_id, p.number, int(p.ocr), p.width, p.height) for p in doc.pages],
            )
            rows = []
            for p in doc.pages:
                for seq, b in enumerate(p.blocks):
                    rows.append(
                        (
                            doc_id, p.number, seq, b.kind, b.text, b.level, b.number, b.ref_page,
                            json.dumps([[r.number, r.offset] for r in b.refs]) if b.refs else None,
                            json.dumps([round(v, 1) for v in b.bbox]) if b.bbox else None,
                            json.dumps(b.rows, ensure_ascii=False) if b.rows is not None else None,
                        )
                    )
            db.executemany(
                "INSERT INTO blocks (doc_id, page, seq, kind, text, level, number, ref_page, refs, bbox, rows)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            if doc.entities is not None:
                self._write_entities(db, doc_id, doc.entities, doc.facts)
            db.execute("DELETE FROM failures WHERE path=?", (doc.path,))
        doc.id = doc_id
        return doc_id

    def _write_entities(self, db, doc_id: int, entities, facts) -> None:
        db.execute("DELETE FROM entities WHERE doc_id=?", (doc_id,))
        db.executemany(
            "INSERT INTO entities (doc_id, page, block, start, end, label, text, norm, data) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (doc_id, e.page, e.block, e.start, e.end, e.label, e.text, e.norm,
                 json.dumps(e.data, ensure_ascii=False) if e.data else None)
                for e in entities
            ],
        )
        county = (facts or {}).get("county") or {}
        db.execute(
            "UPDATE documents SET facts=?, county=? WHERE id=?",
            (json.dumps(facts, ensure_ascii=False) if facts is not None else None, county.get("code"), doc_id),
        )

    def set_entities(self, doc_id: int, entities, facts) -> None:
        """Replace a document's entities (retag) in one transaction; its precedent card,
        read from the entities, is made again by rulings.update_cards."""
        with self.transaction() as db:
            self._write_entities(db, doc_id, entities, facts)
            db.execute("DELETE FROM rulings WHERE doc_id=?", (doc_id,))
            db.execute("DELETE FROM ruling_refs WHERE doc_id=?", (doc_id,))

    # --- precedent cards -------------------------------------------------------

    def rulings_without_card(self) -> list[int]:
        return [r["id"] for r in self.db.execute(
            "SELECT d.id FROM documents d WHERE d.doc_type='court_ruling' AND NOT EXISTS"
            " (SELECT 1 FROM rulings r WHERE r.doc_id = d.id) ORDER BY d.id")]

    def put_card(self, doc_id: int, card: dict, refs: list[tuple[str, str]]) -> None:
        """Store a ruling's card and its keys: kind 'self' (this ruling's case numbers and
        reference), 'cited', 'lower' and 'provision'."""
        with self.transaction() as db:
            db.execute("DELETE FROM ruling_refs WHERE doc_id=?", (doc_id,))
            db.execute(
                "INSERT OR REPLACE INTO rulings (doc_id, court, court_level, decision_date, referat, outcome, card)"
                " VALUES (?,?,?,?,?,?,?)",
                (doc_id, card["court"], card["court_level"], card["decision_date"], card["referat"], card["outcome"],
                 json.dumps(card, ensure_ascii=False)),
            )
            db.executemany("INSERT OR IGNORE INTO ruling_refs (doc_id, kind, ref) VALUES (?,?,?)",
                           [(doc_id, kind, ref) for kind, ref in refs])

    def rulings(self, *, court_level: str | None = None, outcome: str | None = None, provision: str | None = None,
                court: str | None = None, year_from: int | None = None, year_to: int | None = None,
                doc_id: int | None = None) -> list[dict]:
        sql = ("SELECT r.*, d.title, d.path FROM rulings r JOIN documents d ON d.id = r.doc_id")
        where, args = [], []
        if doc_id is not None:
            where.append("r.doc_id = ?")
            args.append(doc_id)
        if court_level:
            where.append("r.court_level = ?")
            args.append(court_level)
        if outcome:
            where.append("r.outcome = ?")
            args.append(outcome)
        if court:
            where.append("lower(r.court) LIKE ? ESCAPE '\\'")
            args.append("%" + _like_escape(court.lower()) + "%")
        if provision:
            where.append("EXISTS (SELECT 1 FROM ruling_refs x WHERE x.doc_id = r.doc_id AND x.kind = 'provision'"
                         " AND (x.ref = ? OR x.ref LIKE ? ESCAPE '\\'))")
            args += [provision, _like_escape(provision) + " %"]
        if year_from:
            where.append("CAST(substr(r.decision_date, 1, 4) AS INTEGER) >= ?")
            args.append(int(year_from))
        if year_to:
            where.append("CAST(substr(r.decision_date, 1, 4) AS INTEGER) <= ?")
            args.append(int(year_to))
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY r.decision_date DESC, r.doc_id"
        return [dict(r) for r in self.db.execute(sql, args)]

    def ruling_links(self, doc_id: int) -> dict[str, list[int]]:
        """Stored rulings this one cites, is cited by, was appealed from and was appealed to."""
        q = lambda sql: [r[0] for r in self.db.execute(sql, (doc_id,))]  # noqa: E731
        return {
            "cites": q("SELECT DISTINCT s.doc_id FROM ruling_refs c JOIN ruling_refs s ON s.kind='self' AND s.ref=c.ref"
                       " WHERE c.doc_id=? AND c.kind='cited' AND s.doc_id != c.doc_id"),
            "cited_by": q("SELECT DISTINCT c.doc_id FROM ruling_refs s JOIN ruling_refs c ON c.kind='cited' AND c.ref=s.ref"
                          " WHERE s.doc_id=? AND s.kind='self' AND c.doc_id != s.doc_id"),
            "appealed_from": q("SELECT DISTINCT s.doc_id FROM ruling_refs l JOIN ruling_refs s ON s.kind='self' AND s.ref=l.ref"
                               " WHERE l.doc_id=? AND l.kind='lower' AND s.doc_id != l.doc_id"),
            "appealed_to": q("SELECT DISTINCT l.doc_id FROM ruling_refs s JOIN ruling_refs l ON l.kind='lower' AND l.ref=s.ref"
                             " WHERE s.doc_id=? AND s.kind='self' AND l.doc_id != s.doc_id"),
        }

    def entity_counts(self, label: str | None = None, norm: str | None = None) -> list[dict]:
        """Canonical entities with their number of mentions and documents, most first."""
        sql = (
            "SELECT label, norm, COUNT(*) AS mentions, COUNT(DISTINCT doc_id) AS documents,"
            " (SELECT text FROM entities e2 WHERE e2.label=e.label AND e2.norm=e.norm"
            "  GROUP BY text ORDER BY COUNT(*) DESC LIMIT 1) AS text"
            " FROM entities e"
        )
        where, args = [], []
        if label:
            where.append("label=?")
            args.append(label)
        if norm:
            where.append("norm=?")
            args.append(norm)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY label, norm ORDER BY mentions DESC, label, norm"
        return [dict(r) for r in self.db.execute(sql, args)]

    def entity_documents(self, label: str, norm: str) -> list[dict]:
        """Documents mentioning an entity, with their mentions and the pages they are on."""
        sql = (
            "SELECT d.id, d.title, d.doc_type, d.date, d.issuer, d.path, COUNT(*) AS mentions,"
            " GROUP_CONCAT(DISTINCT e.page) AS pages FROM entities e JOIN documents d ON d.id = e.doc_id"
            " WHERE e.label=? AND e.norm=? GROUP BY d.id ORDER BY mentions DESC, d.date DESC, d.id"
        )
        rows = [dict(r) for r in self.db.execute(sql, (label, norm))]
        for r in rows:
            r["pages"] = sorted({int(p) for p in (r["pages"] or "").split(",") if p})
        return rows

    def entity_passages(self, label: str, norm: str, limit: int = 50, offset: int = 0) -> tuple[int, list[dict]]:
        """(total, one page of passages) tagged with an entity, newest documents first."""
        where = "p.id IN (SELECT passage FROM passage_facets WHERE label=? AND norm=?)"
        total = self.db.execute(f"SELECT COUNT(*) FROM passages p WHERE {where}", (label, norm)).fetchone()[0]
        rows = self.passage_rows(f"{where} ORDER BY d.date DESC, d.id, p.seq LIMIT ? OFFSET ?", (label, norm, limit, offset))
        return total, rows

    def entity_mentions(self, doc_id: int, label: str, norm: str) -> list[tuple[int, int, int, int]]:
        """(page, block, start, end) of an entity's mentions in a document; a law's
        mentions include its provisions ("4 kap. 1 § SoL" mentions SoL)."""
        sql = "SELECT page, block, start, end FROM entities WHERE doc_id=? AND ((label=? AND norm=?)"
        args: list = [doc_id, label, norm]
        if label == "LAW":
            sql += " OR (label='PROVISION' AND norm LIKE ? ESCAPE '\\')"
            args.append(_like_escape(norm) + " %")
        return [tuple(r) for r in self.db.execute(sql + ")", args)]

    # --- passage labels (labels.py) ----------------------------------------------

    def replace_passage_labels(self, rows: list[tuple[str, str, float, int]]) -> None:
        """All passages' label scores (passage_id, label, score, assigned), replacing the old ones."""
        with self.transaction() as db:
            db.execute("DELETE FROM passage_labels")
            db.executemany("INSERT INTO passage_labels (passage_id, label, score, assigned) VALUES (?,?,?,?)", rows)

    def labelled_passages(self, label: str, min_score: float | None = None, limit: int | None = None) -> list[dict]:
        cond = "l.score >= ?" if min_score is not None else "l.assigned = 1"
        args: list = [label] + ([min_score] if min_score is not None else [])
        sql = (
            "SELECT p.*, d.path, d.title, d.doc_type, d.date, d.issuer, d.county, d.sha256, l.score FROM passage_labels l"
            " JOIN passages p ON p.passage_id = l.passage_id JOIN documents d ON d.id = p.doc_id"
            f" WHERE l.label = ? AND {cond} ORDER BY l.score DESC, d.id, p.seq"
        )
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(r) for r in self.db.execute(sql, args)]

    def passage_label_map(self, passage_ids: list[str]) -> dict[str, list[tuple[str, float]]]:
        """passage_id -> [(label, score)] of the labels it has."""
        out: dict[str, list[tuple[str, float]]] = {}
        for i in range(0, len(passage_ids), 500):
            chunk = passage_ids[i:i + 500]
            for r in self.db.execute(
                f"SELECT passage_id, label, score FROM passage_labels WHERE assigned = 1 AND passage_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                out.setdefault(r[0], []).append((r[1], r[2]))
        return out

    def document_passages(self, doc_id: int) -> list[dict]:
        return self.passage_rows("p.doc_id=? ORDER BY p.seq", (doc_id,))

    # --- passages --------------------------------------------------------------

    def replace_passages(self, doc_id: int, passages, facets: dict[str, list[tuple[str, str]]], terms: dict[str, str]) -> None:
        """Store a document's passages with their facets (label, norm) and FTS terms,
        replacing earlier ones, in one transaction."""
        with self.transaction() as db:
            db.execute("DELETE FROM passages WHERE doc_id=?", (doc_id,))
            for p in passages:
                cur = db.execute(
                    "INSERT INTO passages (passage_id, doc_id, seq, page_start, page_end, kind, heading_path, text,"
                    " footnotes, spans, content_hash, n_words) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        p.passage_id, doc_id, p.seq, p.page_start, p.page_end, p.kind,
                        json.dumps(p.heading_path, ensure_ascii=False), p.text,
                        json.dumps(p.footnotes, ensure_ascii=False) if p.footnotes else None,
                        json.dumps([[s.page, s.block, s.start, s.end] for s in p.spans]),
                        p.content_hash, p.n_words,
                    ),
                )
                rowid = cur.lastrowid
                db.execute("INSERT INTO passages_fts (rowid, terms) VALUES (?, ?)", (rowid, terms[p.passage_id]))
                db.executemany(
                    "INSERT OR IGNORE INTO passage_facets (passage, label, norm) VALUES (?,?,?)",
                    [(rowid, label, norm) for label, norm in facets.get(p.passage_id, [])],
                )

    def passage_rows(self, where: str = "", args: tuple = ()) -> list[dict]:
        sql = (
            "SELECT p.*, d.path, d.title, d.doc_type, d.date, d.issuer, d.county, d.sha256 FROM passages p"
            " JOIN documents d ON d.id = p.doc_id"
        )
        if where:
            sql += " WHERE " + where
        return [dict(r) for r in self.db.execute(sql, args)]

    def passages_by_rowid(self, rowids: list[int]) -> dict[int, dict]:
        out: dict[int, dict] = {}
        for i in range(0, len(rowids), 500):
            chunk = rowids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.passage_rows(f"p.id IN ({marks})", tuple(chunk)):
                out[r["id"]] = r
        return out

    def candidate_rows(self, rowids: list[int]) -> dict[int, dict]:
        """What ranking needs of many candidates (no text): document, type, date,
        county and content hash."""
        out: dict[int, dict] = {}
        keys = ("id", "doc_id", "content_hash", "doc_type", "date", "county")
        for i in range(0, len(rowids), 500):
            chunk = rowids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            cur = self.db.cursor()
            cur.row_factory = None  # plain tuples: several times faster than sqlite3.Row here
            for r in cur.execute(
                "SELECT p.id, p.doc_id, p.content_hash, d.doc_type, d.date, d.county FROM passages p"
                f" JOIN documents d ON d.id = p.doc_id WHERE p.id IN ({marks})", chunk
            ):
                out[r[0]] = dict(zip(keys, r))
        return out

    def facet_tallies(self, rowids: list[int], entity_labels: tuple[str, ...]) -> dict:
        """Facet counts over candidate passages, counted in SQL: {kind: {value: count}}
        for doc_type, year, county, municipality, court and entity, plus the label of
        each entity value. A passage counts for a county when its document is that
        county's or the passage names the county or one of its municipalities."""
        ids = json.dumps(rowids)
        inside = "IN (SELECT value FROM json_each(?1))"
        out: dict = {"doc_type": {}, "county": {}, "municipality": {}, "court": {}, "year": {}, "entity": {}, "labels": {}}
        cur = self.db.cursor()
        cur.row_factory = None
        for doc_type, year, n in cur.execute(
            f"SELECT d.doc_type, substr(d.date, 1, 4), COUNT(*) FROM passages p JOIN documents d ON d.id = p.doc_id"
            f" WHERE p.id {inside} GROUP BY 1, 2", (ids,)
        ):
            out["doc_type"][doc_type] = out["doc_type"].get(doc_type, 0) + n
            if year:
                out["year"][year] = out["year"].get(year, 0) + n
        for county, n in cur.execute(
            f"SELECT c, COUNT(*) FROM (SELECT passage AS pid, norm AS c FROM passage_facets WHERE passage {inside} AND label = 'LAN'"
            f" UNION SELECT p.id, d.county FROM passages p JOIN documents d ON d.id = p.doc_id WHERE p.id {inside}"
            f" AND d.county IS NOT NULL) GROUP BY c", (ids,)
        ):
            out["county"][county] = n
        labels = ("KOMMUN", "COURT") + tuple(entity_labels)
        marks = ",".join("?" * len(labels))
        for label, norm, n in cur.execute(
            f"SELECT label, norm, COUNT(*) FROM passage_facets WHERE passage {inside} AND label IN ({marks}) GROUP BY 1, 2",
            (ids, *labels),
        ):
            if label == "KOMMUN":
                out["municipality"][norm] = n
            elif label == "COURT":
                if norm[:1].isupper():  # a named court, not "förvaltningsrätt" in general
                    out["court"][norm] = n
            if label in entity_labels:
                out["entity"][norm] = out["entity"].get(norm, 0) + n
                out["labels"][norm] = label
        return out

    def passage_by_id(self, passage_id: str) -> dict:
        rows = self.passage_rows("p.passage_id=?", (passage_id,))
        if not rows:
            raise NotFound(f"no passage '{passage_id}' (passage ids come with search results)")
        return rows[0]

    def passage_facets(self, rowids: list[int]) -> dict[int, list[tuple[str, str]]]:
        out: dict[int, list[tuple[str, str]]] = {}
        for i in range(0, len(rowids), 500):
            chunk = rowids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            cur = self.db.cursor()
            cur.row_factory = None
            for passage, label, norm in cur.execute(f"SELECT passage, label, norm FROM passage_facets WHERE passage IN ({marks})", chunk):
                out.setdefault(passage, []).append((label, norm))
        return out

    def keyword_search(self, match: str, limit: int, filter_sql: str = "", filter_args: tuple = ()) -> list[tuple[int, float]]:
        """(passage rowid, BM25 score: higher is better) for an FTS5 MATCH expression."""
        if filter_sql:
            sql = (
                "SELECT f.rowid, -bm25(passages_fts) FROM passages_fts f"
                " JOIN passages p ON p.id = f.rowid JOIN documents d ON d.id = p.doc_id"
                f" WHERE passages_fts MATCH ? AND {filter_sql} ORDER BY bm25(passages_fts) LIMIT ?"
            )
        else:  # no join: every FTS row is a stored passage (the delete trigger keeps them in step)
            sql = "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? ORDER BY bm25(passages_fts) LIMIT ?"
        cur = self.db.cursor()
        cur.row_factory = None
        return cur.execute(sql, (match, *filter_args, limit)).fetchall()

    def term_document_frequencies(self, terms: list[str]) -> dict[str, int]:
        return {t: (self.db.execute("SELECT doc FROM passages_vocab WHERE term = ?", (t,)).fetchone() or (0,))[0] for t in terms}

    def passage_count(self) -> int:
        """The number of passages, counted again only when the database has changed
        (PRAGMA data_version moves when any connection commits)."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        cached = getattr(self, "_passage_count", None)
        if cached is None or cached[0] != version or self.db.in_transaction:
            cached = (version, self.db.execute("SELECT COUNT(*) FROM passages").fetchone()[0])
            self._passage_count = cached
        return cached[1]

    def filtered_passage_ids(self, filter_sql: str, filter_args: tuple) -> list[int]:
        sql = "SELECT p.id FROM passages p JOIN documents d ON d.id = p.doc_id"
        if filter_sql:
            sql += " WHERE " + filter_sql
        return [r["id"] for r in self.db.execute(sql, filter_args)]

    def all_passage_vectors_keys(self, model: str) -> list[tuple[int, str]]:
        """(passage rowid, content hash) of every passage, in rowid order."""
        return [(r["id"], r["content_hash"]) for r in self.db.execute("SELECT id, content_hash FROM passages ORDER BY id")]

    def missing_embeddings(self, model: str) -> list[tuple[str, str]]:
        """(content hash, passage text to embed) for passages without a vector for `model`."""
        rows = self.db.execute(
            "SELECT p.content_hash, MIN(p.id) AS id FROM passages p LEFT JOIN embeddings e"
            " ON e.content_hash = p.content_hash AND e.model = ? WHERE e.content_hash IS NULL GROUP BY p.content_hash",
            (model,),
        ).fetchall()
        return [(r["content_hash"], r["id"]) for r in rows]

    def put_embeddings(self, model: str, items: list[tuple[str, bytes]]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO embeddings (content_hash, model, vector) VALUES (?,?,?)",
                           [(h, model, v) for h, v in items])

    def get_embeddings(self, model: str, hashes: list[str]) -> dict[str, bytes]:
        out = {}
        for i in range(0, len(hashes), 500):
            chunk = hashes[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.db.execute(f"SELECT content_hash, vector FROM embeddings WHERE model=? AND content_hash IN ({marks})", (model, *chunk)):
                out[r["content_hash"]] = r["vector"]
        return out

    def documents_needing_passages(self) -> list[int]:
        return [r["id"] for r in self.db.execute(
            "SELECT d.id FROM documents d WHERE NOT EXISTS (SELECT 1 FROM passages p WHERE p.doc_id = d.id) ORDER BY d.id")]

    def remove_document(self, doc_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM documents WHERE id=?", (doc_id,))

    def list_documents(self, doc_type: str | None = None) -> list[dict]:
        sql = "SELECT * FROM documents"
        args: tuple = ()
        if doc_type:
            sql += " WHERE doc_type=?"
            args = (doc_type,)
        sql += " ORDER BY id"
        return [dict(r) for r in self.db.execute(sql, args)]

    def resolve_doc(self, ref: str) -> int:
        """A document by id, sha256 (prefix of at least 8), path or file name."""
        ref = ref.strip()
        if ref.isdigit():
            row = self.db.execute("SELECT id FROM documents WHERE id=?", (int(ref),)).fetchone()
            if row:
                return row["id"]
        if len(ref) >= 8 and all(c in "0123456789abcdef" for c in ref.lower()):
            rows = self.db.execute("SELECT id FROM documents WHERE sha256 LIKE ?", (ref.lower() + "%",)).fetchall()
            if len(rows) == 1:
                return rows[0]["id"]
        rows = self.db.execute(
            "SELECT id FROM documents WHERE path=? OR path LIKE ? ESCAPE '\\'", (ref, "%/" + _like_escape(ref))
        ).fetchall()
        if len(rows) == 1:
            return rows[0]["id"]
        if len(rows) > 1:
            raise NotFound(f"'{ref}' matches {len(rows)} documents: give the id or the full path")
        raise NotFound(f"no document '{ref}' in the store (see `textmine docs`)")

    def get_document(self, doc_id: int) -> Document:
        row = self.db.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        if row is None:
            raise NotFound(f"no document with id {doc_id}")
        doc = Document(
            path=row["path"], sha256=row["sha256"], format=row["format"], doc_type=row["doc_type"],
            title=row["title"], date=row["date"], issuer=row["issuer"], id=row["id"],
            facts=json.loads(row["facts"]) if row["facts"] else None,
        )
        pages = {
            r["number"]: Page(number=r["number"], ocr=bool(r["ocr"]), width=r["width"], height=r["height"])
            for r in self.db.execute("SELECT * FROM pages WHERE doc_id=? ORDER BY number", (doc_id,))
        }
        for r in self.db.execute("SELECT * FROM blocks WHERE doc_id=? ORDER BY page, seq", (doc_id,)):
            pages[r["page"]].blocks.append(block_from_row(r))
        doc.pages = list(pages.values())
        doc.entities = [entity_from_row(r) for r in self.db.execute(
            "SELECT * FROM entities WHERE doc_id=? ORDER BY page, block, start", (doc_id,))]
        return doc

    def stats(self) -> dict:
        q = lambda sql: self.db.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": q("SELECT COUNT(*) FROM documents"),
            "pages": q("SELECT COUNT(*) FROM pages"),
            "ocr_pages": q("SELECT COUNT(*) FROM pages WHERE ocr=1"),
            "blocks": q("SELECT COUNT(*) FROM blocks"),
            "entities": q("SELECT COUNT(*) FROM entities"),
            "passages": q("SELECT COUNT(*) FROM passages"),
            "failures": q("SELECT COUNT(*) FROM failures"),
        }

    # --- failures --------------------------------------------------------------

    def record_failure(self, path: str, sha256: str | None, error: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO failures (path, sha256, error, failed_at) VALUES (?,?,?,?)"
                " ON CONFLICT(path) DO UPDATE SET sha256=excluded.sha256, error=excluded.error, failed_at=excluded.failed_at",
                (path, sha256, error, time.time()),
            )

    def clear_failure(self, path: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM failures WHERE path=?", (path,))

    def list_failures(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM failures ORDER BY path")]


def block_from_row(r) -> Block:
    from .models import FootnoteRef

    return Block(
        kind=r["kind"],
        text=r["text"],
        level=r["level"],
        number=r["number"],
        ref_page=r["ref_page"],
        refs=[FootnoteRef(n, o) for n, o in json.loads(r["refs"])] if r["refs"] else [],
        bbox=tuple(json.loads(r["bbox"])) if r["bbox"] else None,
        rows=json.loads(r["rows"]) if r["rows"] else None,
    )


def entity_from_row(r):
    from .models import Entity

    return Entity(
        label=r["label"], text=r["text"], norm=r["norm"], page=r["page"], block=r["block"],
        start=r["start"], end=r["end"], data=json.loads(r["data"]) if r["data"] else None,
    )


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
