"""The `textmine` command. Thin: it parses options, calls the modules and prints.
With --json it prints JSON only on stdout; progress and logs go to stderr.
Errors a user can cause print one line on stderr and exit non-zero."""

from __future__ import annotations

import functools
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .config import home_dir
from .errors import TextmineError

app = typer.Typer(
    help="textmine: search, code and compile Swedish documents on aktiv medverkan till bosättning i annan kommun.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

HomeOpt = typer.Option(None, "--home", help="Store folder (default: $TEXTMINE_HOME, else ./indexes).", show_default=False)
JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON only.")


class OcrMode(str, Enum):
    auto = "auto"
    never = "never"
    always = "always"


def friendly_errors(fn):
    """One line for errors, never a traceback (TEXTMINE_DEBUG=1 shows it)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except TextmineError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 1))
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted: what was stored before stays stored; run the command again to complete", err=True)
            raise typer.Exit(130)
        except BrokenPipeError:
            raise typer.Exit(0)
        except Exception as exc:
            if os.environ.get("TEXTMINE_DEBUG"):
                raise
            msg = " ".join(str(exc).split())[:200]
            typer.echo(f"error: unexpected {exc.__class__.__name__}: {msg} (set TEXTMINE_DEBUG=1 for details)", err=True)
            raise typer.Exit(2)

    return wrapper


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def open_store(home: Optional[Path], *, create: bool = False):
    from .store import Store

    return Store(home_dir(home), create=create)


@app.command()
@friendly_errors
def ingest(
    paths: List[Path] = typer.Argument(..., help="Files or folders (recursive): .pdf, .docx, .txt."),
    home: Optional[Path] = HomeOpt,
    jobs: int = typer.Option(0, "--jobs", "-j", help="Parallel parser processes (0 = one per core)."),
    ocr: OcrMode = typer.Option(OcrMode.auto, "--ocr", help="OCR scanned pages: auto, never or always."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any file failed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-file progress on stderr."),
    index: bool = typer.Option(True, "--index/--no-index", help="Build passages, embeddings and the search index (default) or only store."),
    as_json: bool = JsonOpt,
):
    """Parse files, tag entities, store them and update the search indexes.
    Files already stored (same content) are skipped."""
    from .ingest import ingest as run_ingest

    with open_store(home, create=True) as store:
        summary = run_ingest(store, paths, jobs=jobs or None, ocr=ocr.value, quiet=quiet)
        indexed = None
        if index:
            from .indexing import update_indexes

            indexed = update_indexes(store, quiet=quiet)
    if as_json:
        out = summary.to_json()
        if indexed is not None:
            out["index"] = indexed
        print_json(out)
    else:
        s = summary.to_json()
        rate = f", {s['pages_per_second']} pages/s" if s["pages_per_second"] and s["ingested"] else ""
        typer.echo(
            f"ingested {s['ingested']} documents ({s['pages']} pages) in {s['seconds']} s{rate}; "
            f"skipped {s['skipped']}; failed {s['failed']}"
        )
        for o in summary.of("ingested"):
            typer.echo(f"  + [{o.doc_id}] {o.doc_type:<19} {o.pages:>3} p  {Path(o.path).name}: {o.title or ''}")
        for o in summary.of("failed"):
            typer.echo(f"  ! {o.path}: {o.reason}")
        if indexed is not None:
            rate = f" at {indexed['passages_per_second']} passages/s" if indexed.get("passages_per_second") else ""
            typer.echo(
                f"indexed: {indexed['passages_built']} new passages, {indexed['embedded']} embedded{rate}; "
                f"vector index {indexed['index']['count']} ({indexed['index']['kind']}), model {indexed['model']}"
            )
    if strict and summary.of("failed"):
        raise typer.Exit(1)


@app.command()
@friendly_errors
def parse(
    file: Path = typer.Argument(..., help="A .pdf, .docx or .txt file."),
    ocr: OcrMode = typer.Option(OcrMode.auto, "--ocr", help="OCR scanned pages: auto, never or always."),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Processes for long PDFs (0 = one per core)."),
    entities: bool = typer.Option(True, "--entities/--no-entities", help="Tag entities (default) or skip tagging."),
    as_json: bool = JsonOpt,
):
    """Parse one file without storing it and print the document (with its entities)."""
    from .parse import parse_file

    doc = parse_file(file, ocr=ocr.value, jobs=jobs or min(os.cpu_count() or 1, 4))
    card = None
    if entities:
        from .nlp import tag_document
        from .rulings import extract_card

        tag_document(doc)
        card = extract_card(doc)  # court rulings only; it reads the entities
    if as_json:
        out = doc.to_json()
        if card is not None:
            out["ruling"] = card.to_json()
        print_json(out)
    else:
        print_document(doc)
        if card is not None:
            print_card(card)


@app.command()
@friendly_errors
def docs(
    home: Optional[Path] = HomeOpt,
    doc_type: Optional[str] = typer.Option(None, "--type", help="Only this document type."),
    as_json: bool = JsonOpt,
):
    """List stored documents."""
    with open_store(home) as store:
        rows = store.list_documents(doc_type)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no documents stored (run `textmine ingest PATH`)")
        return
    for r in rows:
        ocr = f" ({r['n_ocr_pages']} OCR)" if r["n_ocr_pages"] else ""
        typer.echo(f"[{r['id']:>3}] {r['doc_type']:<19} {r['date'] or '':<10} {r['n_pages']:>3} p{ocr}  {r['title'] or ''}")
        typer.echo(f"      {r['issuer'] or '?'} | {r['path']}")


@app.command()
@friendly_errors
def show(
    doc: str = typer.Argument(..., help="Document id, sha256 prefix, path or file name."),
    home: Optional[Path] = HomeOpt,
    page: Optional[int] = typer.Option(None, "--page", "-p", help="Only this page."),
    as_json: bool = JsonOpt,
):
    """Show a stored document: metadata and text page by page."""
    from .errors import NotFound

    with open_store(home) as store:
        document = store.get_document(store.resolve_doc(doc))
    if page is not None:
        if not 1 <= page <= document.n_pages:
            raise NotFound(f"page {page} does not exist: the document has {document.n_pages} pages")
        document.pages = [p for p in document.pages if p.number == page]
    if as_json:
        print_json(document.to_json())
    else:
        print_document(document)


LABELS = ("KOMMUN", "LAN", "COURT", "AGENCY", "LAW", "PROVISION", "CASE_REF", "TARGET_GROUP", "DATE",
          "MONEY", "PERCENT", "DNR", "PERSONNUMMER", "ORG")


@app.command("entities")
@friendly_errors
def entities_cmd(
    home: Optional[Path] = HomeOpt,
    label: Optional[str] = typer.Option(None, "--label", "-l", help=f"Only this label: {', '.join(LABELS)}."),
    limit: int = typer.Option(0, "--limit", "-n", help="At most this many rows (0 = all)."),
    as_json: bool = JsonOpt,
):
    """List canonical entities in the store with their counts (mentions, documents)."""
    from .errors import TextmineError as _E
    from .nlp.gazetteer import load_gazetteer

    if label and label.upper() not in LABELS:
        raise _E(f"unknown label '{label}': use one of {', '.join(LABELS)}")
    with open_store(home) as store:
        rows = store.entity_counts(label.upper() if label else None)
    gaz = load_gazetteer()
    for r in rows:
        r["name"] = gaz.display_name(r["label"], r["norm"])
    if limit:
        rows = rows[:limit]
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no entities (ingest documents, or run `textmine retag`)")
    for r in rows:
        name = f"  ({r['name']})" if r.get("name") else ""
        typer.echo(f"{r['label']:<13} {r['norm']:<45} {r['mentions']:>5} mentions in {r['documents']:>3} docs{name}")


@app.command()
@friendly_errors
def retag(
    home: Optional[Path] = HomeOpt,
    doc: Optional[str] = typer.Argument(None, help="Only this document (id, sha256 prefix, path or file name)."),
    as_json: bool = JsonOpt,
):
    """Re-run entity tagging on the stored blocks, without re-parsing the files."""
    import time

    from .nlp import tag_document

    started = time.monotonic()
    total = 0
    with open_store(home) as store:
        ids = [store.resolve_doc(doc)] if doc else [r["id"] for r in store.list_documents()]
        for n, doc_id in enumerate(ids, 1):
            document = store.get_document(doc_id)
            ents = tag_document(document)
            store.set_entities(doc_id, ents, document.facts)
            total += len(ents)
            typer.echo(f"[{n}/{len(ids)}] {Path(document.path).name}: {len(ents)} entities", err=True)
        from .rulings import update_cards

        update_cards(store)
    summary = {"documents": len(ids), "entities": total, "seconds": round(time.monotonic() - started, 2)}
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"retagged {summary['documents']} documents: {summary['entities']} entities in {summary['seconds']} s")


class Mode(str, Enum):
    hybrid = "hybrid"
    semantic = "semantic"
    keyword = "keyword"


@app.command()
@friendly_errors
def search(
    query: Optional[str] = typer.Argument(None, help="The question or keywords, in Swedish."),
    home: Optional[Path] = HomeOpt,
    k: int = typer.Option(10, "--k", "-k", help="Number of hits."),
    mode: Mode = typer.Option(Mode.hybrid, "--mode", help="hybrid (default), semantic or keyword."),
    doc_type: Optional[str] = typer.Option(None, "--type", help="Document type, e.g. court_ruling."),
    county: Optional[str] = typer.Option(None, "--county", help="County: name (Örebro län) or code (18)."),
    municipality: Optional[str] = typer.Option(None, "--municipality", help="Municipality: name or SCB code."),
    court: Optional[str] = typer.Option(None, "--court", help="Court (part of its name)."),
    year_from: Optional[int] = typer.Option(None, "--year-from", help="Documents dated this year or later."),
    year_to: Optional[int] = typer.Option(None, "--year-to", help="Documents dated this year or earlier."),
    entity: Optional[str] = typer.Option(None, "--entity", help="Passages mentioning this canonical id (see `textmine entities`)."),
    label: Optional[str] = typer.Option(None, "--label", help="Only passages with this label: dumping_case, good_practice, proposal, interview_quote."),
    batch: Optional[Path] = typer.Option(None, "--batch", help="A file with one query per line: one JSON line per query."),
    as_json: bool = JsonOpt,
):
    """Search passages: keyword (BM25), semantic (e5 + FAISS) or both fused (default)."""
    from .search import Filters, QueryError, Searcher

    filters = Filters(doc_type, county, municipality, court, year_from, year_to, entity, label)
    with open_store(home) as store:
        searcher = Searcher(store)
        if batch is not None:
            if not batch.is_file():
                raise QueryError(f"no such file: {batch}")
            for line in batch.read_text(encoding="utf-8", errors="replace").splitlines():
                if line.strip():
                    result = searcher.search(line, k=k, mode=mode.value, filters=filters)
                    sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            return
        if query is None:
            raise QueryError("give a query (or --batch FILE)")
        result = searcher.search(query, k=k, mode=mode.value, filters=filters)
    if as_json:
        print_json(result.to_json())
    else:
        print_result(result)


@app.command()
@friendly_errors
def similar(
    passage_id: str = typer.Argument(..., help="A passage id from a search result."),
    home: Optional[Path] = HomeOpt,
    k: int = typer.Option(10, "--k", "-k", help="Number of hits."),
    as_json: bool = JsonOpt,
):
    """Passages from other documents that say something similar."""
    from .search import Searcher

    with open_store(home) as store:
        result = Searcher(store).similar(passage_id, k=k)
    if as_json:
        print_json(result.to_json())
    else:
        print_result(result)


@app.command()
@friendly_errors
def reindex(
    home: Optional[Path] = HomeOpt,
    as_json: bool = JsonOpt,
):
    """Rebuild passages, embeddings (cached ones are reused) and the vector index."""
    import shutil

    from .indexing import update_indexes

    with open_store(home) as store:
        shutil.rmtree(store.home / "vectors", ignore_errors=True)
        result = update_indexes(store, rechunk=True)
    if as_json:
        print_json(result)
    else:
        typer.echo(f"reindexed {result['documents_chunked']} documents: {result['passages_built']} passages, "
                   f"{result['embedded']} newly embedded, vector index {result['index']['count']} ({result['index']['kind']})")


def print_result(result) -> None:
    if not result.hits:
        typer.echo("no hits")
    for n, h in enumerate(result.hits, 1):
        pages = f"s. {h.page}" + (f"–{h.page_end}" if h.page_end != h.page else "")
        typer.echo(f"{n:>2}. [{h.score:.4f}] {h.title or Path(h.path).name} ({h.doc_type}, {h.date or '?'}), {pages}  {h.passage_id}")
        if h.heading_path:
            typer.echo(f"    § {h.heading_path[-1]}")
        snippet = h.text
        for start, end in sorted(h.highlights, reverse=True):
            snippet = snippet[:start] + "**" + snippet[start:end] + "**" + snippet[end:]
        typer.echo("    " + " ".join(snippet.split())[:400])
    f = result.facets
    for kind in ("doc_type", "county", "court", "year"):
        items = f.get(kind, [])[:6]
        if items:
            typer.echo(f"{kind}: " + ", ".join(f"{i.get('name', i['value'])} ({i['count']})" for i in items))


@app.command()
@friendly_errors
def serve(
    home: Optional[Path] = HomeOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (only this machine by default)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on.", min=1, max=65535),
):
    """Serve the search UI and its JSON API (OpenAPI docs at /docs)."""
    import socket

    from .server import serve as run_server

    folder = home_dir(home)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TextmineError(f"cannot listen on {host}:{port}: {exc.strerror} (another server running? try --port)")
    run_server(folder, host=host, port=port)


class CourtLevel(str, Enum):
    forvaltningsratt = "förvaltningsrätt"
    kammarratt = "kammarrätt"
    hogsta = "högsta instans"
    other = "other"


@app.command()
@friendly_errors
def rulings(
    home: Optional[Path] = HomeOpt,
    court_level: Optional[CourtLevel] = typer.Option(None, "--court-level", help="förvaltningsrätt, kammarrätt, 'högsta instans' or other."),
    outcome: Optional[str] = typer.Option(None, "--outcome", help="bifall, 'delvis bifall', avslag, undanröjt, återförvisat, 'prövningstillstånd meddelas inte', avvisat."),
    provision: Optional[str] = typer.Option(None, "--provision", help="A provision id, e.g. '2001:453 4 kap. 1 §' (see `textmine entities --label PROVISION`), or a law '2001:453'."),
    court: Optional[str] = typer.Option(None, "--court", help="Court (part of its name)."),
    year_from: Optional[int] = typer.Option(None, "--year-from", help="Decided this year or later."),
    year_to: Optional[int] = typer.Option(None, "--year-to", help="Decided this year or earlier."),
    as_csv: bool = typer.Option(False, "--csv", help="Print the cards as CSV."),
    as_json: bool = JsonOpt,
):
    """Precedent cards of the stored court rulings, with what they cite, what cites them and their appeal chain."""
    import csv

    from .rulings import CSV_COLUMNS, OUTCOMES, csv_row, list_cards

    if outcome and outcome not in OUTCOMES:
        raise TextmineError(f"unknown outcome '{outcome}': use one of {', '.join(OUTCOMES)}")
    with open_store(home) as store:
        out = list_cards(store, court_level=court_level.value if court_level else None, outcome=outcome,
                         provision=provision, court=court, year_from=year_from, year_to=year_to)
    if as_json:
        print_json(out)
        return
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_row(c) for c in out)
        return
    if not out:
        typer.echo("no rulings match (ingest court rulings, or loosen the filters)")
    for c in out:
        ref = f" {c['referat']}" if c["referat"] else ""
        typer.echo(f"[{c['doc_id']:>3}] {c['decision_date'] or '?':<10} {c['court']}{ref}, mål {', '.join(c['case_numbers'])}: {c['outcome']}")
        typer.echo(f"      {c['parties']['appellant']} v. {c['parties']['counterparty']}"
                   + (f" | cited by {len(c['links']['cited_by'])}" if c["links"]["cited_by"] else "")
                   + (f" | appealed from {', '.join(str(x['doc_id']) for x in c['links']['appealed_from'])}" if c["links"]["appealed_from"] else ""))


@app.command()
@friendly_errors
def failures(home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """List files that failed to ingest, and why."""
    with open_store(home) as store:
        rows = store.list_failures()
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("no failures")
    for r in rows:
        typer.echo(f"{r['path']}: {r['error']}")


@app.command()
@friendly_errors
def remove(
    doc: str = typer.Argument(..., help="Document id, sha256 prefix, path or file name."),
    home: Optional[Path] = HomeOpt,
    as_json: bool = JsonOpt,
):
    """Remove a document (and everything derived from it) from the store."""
    with open_store(home) as store:
        doc_id = store.resolve_doc(doc)
        info = next(r for r in store.list_documents() if r["id"] == doc_id)
        store.remove_document(doc_id)
        if (store.home / "vectors" / "manifest.json").exists():
            from .indexing import update_indexes

            update_indexes(store, quiet=True)  # the vector index drops the removed passages
    if as_json:
        print_json({"removed": doc_id, "path": info["path"]})
    else:
        typer.echo(f"removed [{doc_id}] {info['path']}")


def print_card(card) -> None:
    c = card.to_json()
    typer.echo("\n== precedent card")
    typer.echo(f"{c['court']} ({c['court_level']}), {', '.join(c['case_numbers'])}, {c['decision_date']}"
               + (f", {c['referat']}" if c["referat"] else ""))
    typer.echo(f"parties: {c['parties']['appellant']} v. {c['parties']['counterparty']}")
    if c["subject"]:
        typer.echo(f"subject: {c['subject']}")
    typer.echo(f"outcome: {c['outcome']}")
    typer.echo("lagrum: " + "; ".join(f"{x['chapter'] + ' kap. ' if x['chapter'] else ''}{x['section']} § ({x['sfs']})" for x in c["lagrum"]))
    typer.echo("cited: " + "; ".join(c["cited_cases"]))
    typer.echo("lower instances: " + "; ".join(f"{x['court']} {x['case_number'] or ''} {x['date'] or ''}".strip() for x in c["lower_instances"]))
    if c["keywords"]:
        typer.echo("keywords: " + "; ".join(c["keywords"]))


def print_document(doc) -> None:
    typer.echo(f"{doc.title or '(no title)'}")
    typer.echo(f"type: {doc.doc_type} | date: {doc.date or '?'} | issuer: {doc.issuer or '?'} | pages: {doc.n_pages}")
    typer.echo(f"path: {doc.path}\nsha256: {doc.sha256}")
    if doc.facts:
        f = doc.facts
        if f.get("county"):
            typer.echo(f"county: {f['county']['name']}")
        for key, field, title in (("municipalities", "name", "municipalities"), ("courts", "name", "courts"),
                                  ("laws", "name", "laws"), ("case_refs", "norm", "case refs")):
            items = [str(x.get(field) or x.get("sfs") or x.get("code")) for x in f.get(key, [])[:8]]
            if items:
                typer.echo(f"{title}: {', '.join(items)}")
    for page in doc.pages:
        typer.echo(f"\n--- page {page.number}{' (OCR)' if page.ocr else ''} ---")
        for b in page.blocks:
            if b.kind == "heading":
                typer.echo(f"\n{'#' * (b.level or 1)} {b.number + ' ' if b.number else ''}{b.text}")
            elif b.kind == "footnote":
                typer.echo(f"  [{b.number}] {b.text}")
            elif b.kind in ("header", "footer"):
                typer.echo(f"  ({b.kind}: {b.text})")
            elif b.kind == "list_item":
                typer.echo(f"  • {b.text}")
            elif b.kind == "quote":
                typer.echo(f"  > {b.text}")
            elif b.kind == "table":
                for row in b.rows or [b.text]:
                    typer.echo("  | " + (" | ".join(row) if isinstance(row, list) else row))
            else:
                typer.echo(b.text)


@app.command()
@friendly_errors
def passages(
    label: str = typer.Option(..., "--label", help="dumping_case, good_practice, proposal or interview_quote."),
    home: Optional[Path] = HomeOpt,
    min_score: Optional[float] = typer.Option(None, "--min-score", help="Passages scoring at least this (0-1) instead of those past the label's threshold."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many."),
    retrain: bool = typer.Option(False, "--retrain", help="Train the label model again and rescore every passage first."),
    as_json: bool = JsonOpt,
):
    """Passages with a label (cases of aktiv medverkan, good practice, proposals, interview quotes), best first."""
    from .labels import check_label, labelled_passages, update_labels

    check_label(label)
    with open_store(home) as store:
        if retrain:
            from .embed import Embedder

            update_labels(store, Embedder(), retrain=True)
        rows = labelled_passages(store, label, min_score=min_score, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo(f"no passages labelled {label} (run `textmine reindex` if the store predates labels)")
    for r in rows:
        typer.echo(f"{r['score']:.2f}  {r['passage_id']}  {r['path']} s. {r['page']}  {r['title'] or ''}")
        typer.echo(f"      {' '.join(r['text'].split())[:160]}")


class FlowLevel(str, Enum):
    county = "county"
    municipality = "municipality"


@app.command()
@friendly_errors
def cases(
    home: Optional[Path] = HomeOpt,
    flows: Optional[FlowLevel] = typer.Option(None, "--flows", help="Print the flows sender -> receiver by county or municipality instead (= /api/flows?level=...)."),
    sender: Optional[str] = typer.Option(None, "--sender", help="Only cases sent from this county or municipality (code or name; 'okänd' for unknown), at --level."),
    receiver: Optional[str] = typer.Option(None, "--receiver", help="Only cases received by this county or municipality, at --level."),
    level: FlowLevel = typer.Option(FlowLevel.county, "--level", help="Whether --sender/--receiver are counties or municipalities."),
    year_from: Optional[int] = typer.Option(None, "--year-from", help="Cases from this year on (cases without a year are left out)."),
    year_to: Optional[int] = typer.Option(None, "--year-to", help="Cases up to this year."),
    target_group: Optional[str] = typer.Option(None, "--target-group", help="Only cases naming this target group, e.g. nyanlända."),
    as_json: bool = JsonOpt,
):
    """Cases of aktiv medverkan read from dumping_case passages: sending and receiving municipality (SCB codes), target group, year."""
    from .cases import FlowFilters, flow_cases, resolve_place
    from .cases import cases as find_cases
    from .cases import flows as make_flows

    f = FlowFilters(level=(flows or level).value, year_from=year_from, year_to=year_to, target_group=target_group)
    s = resolve_place(sender, level.value) if sender else None
    r = resolve_place(receiver, level.value) if receiver else None
    with open_store(home) as store:
        found = f.apply(find_cases(store))
    if flows is not None:
        out = [fl.to_json() for fl in make_flows(found, flows.value)]
        if as_json:
            print_json(out)
            return
        for fl in out:
            typer.echo(f"{fl['count']:>4}  {fl['sender_name']} -> {fl['receiver_name']}")
        return
    if s is not None or r is not None:
        found = flow_cases(found, level.value, s, r)
    if as_json:
        print_json([c.to_json() for c in found])
        return
    for c in found:
        j = c.to_json()
        typer.echo(f"{j['sender_name'] or '?'} -> {j['receiver_name'] or '?'}  {c.year or ''}  {', '.join(c.target_groups)}"
                   f"  [{c.passage_id} s. {c.page}] {c.title}")


@app.command("county")
@friendly_errors
def county_cmd(
    code: Optional[str] = typer.Argument(None, help="County code (18) or name (Örebro län, Örebro); without it: all 21 counties."),
    home: Optional[Path] = HomeOpt,
    as_json: bool = JsonOpt,
):
    """A county's overview (documents, cases out and in, good examples, county-wide agreement with evidence, timeline), or the list of counties."""
    from .county import county_code, county_list, county_overview

    if code is not None:
        county_code(code)  # an unknown county fails before the store is opened
    with open_store(home) as store:
        if code is None:
            rows = [c.to_json() for c in county_list(store)]
            if as_json:
                print_json(rows)
                return
            for c in rows:
                typer.echo(f"{c['code']}  {c['name']:<22} {c['documents']:>3} dok  {c['cases_out']:>3} ut  {c['cases_in']:>3} in"
                           f"  {c['examples']:>3} exempel  överenskommelse: {'ja' if c['agreement'] else '-'}")
            return
        o = county_overview(store, code)
    if as_json:
        print_json(o.to_json())
        return
    typer.echo(f"{o.name} ({o.code}): {len(o.documents)} documents, {len(o.cases_out)} cases out, {len(o.cases_in)} cases in, "
               f"{len(o.examples)} good examples")
    typer.echo(f"county-wide agreement: {'yes' if o.agreement.exists else 'no evidence'}")
    for e in o.agreement.evidence:
        typer.echo(f"  [{e.document} p. {e.page}] {e.reason}: {e.quote[:140]}")
    for t in o.timeline:
        typer.echo(f"  {t.year}: {t.documents} documents, {t.cases_out} out, {t.cases_in} in, {t.examples} examples")
    for d in o.documents:
        typer.echo(f"  doc {d.id:>4}  {d.date or '':<10}  {d.doc_type:<18} {d.title[:80]}")


from .cli_code import code_app  # noqa: E402  (it imports the helpers above)

app.add_typer(code_app, name="code")

from .cli_practice import examples_app, report_cmd  # noqa: E402

app.add_typer(examples_app, name="examples")
app.command("report")(report_cmd)


def _click_exceptions():
    """Typer >= 0.20 vendors click as typer._click; older ones use click itself."""
    import importlib

    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("click exceptions not found")


def main() -> None:
    """Run the CLI. Usage errors (unknown option, missing argument, bad value) print one
    line, like every other error, instead of click's multi-line box."""
    ce = _click_exceptions()
    try:
        result = app(standalone_mode=False)
    except ce.UsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            raise SystemExit(0)
        where = f"{exc.ctx.command_path} --help" if exc.ctx and exc.ctx.parent else "textmine --help"
        message = " ".join(exc.format_message().split())
        sys.stderr.write(f"error: {message} (see `{where}`)\n")
        raise SystemExit(2)
    except BrokenPipeError:  # `textmine ... | head`
        raise SystemExit(0)
    except getattr(ce, "Exit", typer.Exit) as exc:
        raise SystemExit(exc.exit_code)
    except getattr(ce, "Abort", typer.Abort):
        sys.stderr.write("error: aborted\n")
        raise SystemExit(1)
    raise SystemExit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
