"""FastAPI routes: the Swedish search UI (server-rendered with Jinja2, works without
JavaScript) and its JSON twins under /api, which return what the CLI prints with --json.
OpenAPI documentation is at /docs.

Routes only: what the pages show is prepared in webview.py, data comes from the store
and the searcher held by server.WebState. Every error a user can cause is a 4xx with a
one-line message (HTML page or {"error": ...} under /api), never a 500."""

from __future__ import annotations

import json
import math
import sys
import traceback
from collections import Counter
from importlib import resources
from typing import Optional

from fastapi import Depends, FastAPI, Path as PathParam, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, webview
from .errors import NotFound, StoreError, TextmineError
from .index import lexical
from .labels import LABELS_SV
from .nlp.gazetteer import load_gazetteer
from .pageimage import page_png, source_file
from .practice import STATES_SV, list_examples
from .rulings import list_cards
from .search import QueryError, clean_query
from .server import WORKER_THREADS, WebState
from .webcoding import current_user, register_coding_routes
from .webpractice_flows import register_flow_routes
from .webpractice import register_practice_routes
from .webview import PER_PAGE, SearchParams

ENTITY_PAGE_SIZE = 20


def json_response(data, status: int = 200) -> Response:
    """JSON as the CLI prints it (UTF-8, not ASCII-escaped). Returned as a Response so
    FastAPI does not walk the data through jsonable_encoder first: for a search result
    that walk cost more than the search."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")
SIMILAR_K = 5


def _templates() -> Environment:
    folder = resources.files("textmine.web") / "templates"
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(type_name=webview.type_name, label_name=webview.label_name, mode_names=webview.MODE_NAMES,
                       doc_types=webview.DOC_TYPES, version=__version__, label_names=LABELS_SV,
                       states_sv=STATES_SV)
    env.filters["entity_url"] = lambda e: f"/entities/{e['label']}/{_quote(e['norm'])}"
    return env


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def search_params(
    q: Optional[str] = Query(None, description="Frågan eller sökorden, på svenska."),
    mode: Optional[str] = Query(None, description="hybrid (standard), semantic eller keyword."),
    type: Optional[str] = Query(None, description="Dokumenttyp, t.ex. court_ruling."),
    county: Optional[str] = Query(None, description="Län: namn (Örebro län) eller länskod (18)."),
    municipality: Optional[str] = Query(None, description="Kommun: namn eller SCB-kod."),
    court: Optional[str] = Query(None, description="Domstol (del av namnet)."),
    year_from: Optional[str] = Query(None, description="Dokument daterade detta år eller senare."),
    year_to: Optional[str] = Query(None, description="Dokument daterade detta år eller tidigare."),
    entity: Optional[str] = Query(None, description="Avsnitt som nämner detta kanoniska id (se /api/entities)."),
    label: Optional[str] = Query(None, description="Avsnittsetikett: dumping_case, good_practice, proposal eller interview_quote."),
    page: Optional[str] = Query(None, description="Resultatsida, 1 och uppåt."),
) -> SearchParams:
    return SearchParams.from_query(dict(q=q, mode=mode, type=type, county=county, municipality=municipality, court=court,
                                        year_from=year_from, year_to=year_to, entity=entity, label=label, page=page))


def create_app(state: WebState) -> FastAPI:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app):
        import anyio.to_thread

        # few worker threads: requests are CPU-bound Python holding the GIL, and 40
        # threads (the default) convoy on it; see server.WORKER_THREADS
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="textmine",
        version=__version__,
        description="Sök i domar, rapporter och granskningar om aktiv medverkan till bosättning i annan kommun. "
                    "Varje HTML-sida har en JSON-tvilling under /api.",
    )
    templates = _templates()
    app.mount("/static", StaticFiles(directory=str(resources.files("textmine.web") / "static")), name="static")

    def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        if "user" not in context:  # the header shows who is logged in
            try:
                context["user"] = current_user(state, request)
            except TextmineError:
                context["user"] = None
        html = templates.get_template(name).render(request=request, **context)
        return HTMLResponse(html, status_code=status)

    # --- errors ------------------------------------------------------------------------

    def error_response(request: Request, status: int, message: str) -> Response:
        message = " ".join(str(message).split())[:300]
        if request.url.path.startswith("/api") or request.url.path.endswith(".csv"):
            return json_response({"error": message, "status": status}, status)
        return render(request, "error.html", status=status, status_code=status, message=message)

    @app.exception_handler(TextmineError)
    async def textmine_error(request: Request, exc: TextmineError):
        status = 404 if isinstance(exc, NotFound) else 503 if isinstance(exc, StoreError) else 400
        return error_response(request, status, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors()[:3]:
            where = ".".join(str(x) for x in err.get("loc", ())[1:]) or "förfrågan"
            parts.append(f"{where}: {err.get('msg', 'ogiltigt värde')}")
        return error_response(request, 400, "ogiltig parameter: " + "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = "sidan finns inte" if exc.status_code == 404 else str(exc.detail)
        return error_response(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):  # a bug: say so in one line, log the rest
        traceback.print_exception(exc, file=sys.stderr)
        return error_response(request, 500, f"internt fel ({exc.__class__.__name__}); se serverns logg")

    # --- search ------------------------------------------------------------------------

    def run_search(params: SearchParams, k: int = PER_PAGE, offset: int | None = None):
        if params.is_empty():
            return None
        offset = (params.page - 1) * PER_PAGE if offset is None else offset
        return state.searcher().search(params.q, k=k, mode=params.mode, filters=params.filters(), offset=offset)

    async def search_async(params: SearchParams, k: int = PER_PAGE, offset: int | None = None):
        """Wait for the query vector without holding a worker thread (the embedding
        thread batches concurrent queries), then search in a worker thread."""
        query = clean_query(params.q)
        if query and params.mode != "keyword":
            await state.encoder().prefetch(query)
        return await run_in_threadpool(run_search, params, k, offset)

    @app.get("/", response_class=HTMLResponse, summary="Söksidan")
    async def search_page(request: Request, params: SearchParams = Depends(search_params)):
        result = await search_async(params)
        return await run_in_threadpool(_search_page, request, params, result)

    def _search_page(request: Request, params: SearchParams, result):
        context = dict(params=params, ready=webview.READY_SEARCHES, chips=webview.active_filter_chips(params))
        if result is None:
            store = state.store()
            context["stats"] = store.stats()
            context["types"] = Counter(d["doc_type"] for d in store.list_documents())
            return render(request, "search.html", **context)
        hits = [dict(h.to_json(), snippet=webview.snippet(h.text, h.highlights)) for h in result.hits]
        label_map = state.store().passage_label_map([h["passage_id"] for h in hits])
        for h in hits:
            h["labels"] = [label for label, _ in label_map.get(h["passage_id"], [])]
        user = current_user(state, request)
        if user:  # a logged-in coder codes hits from the list (bulk coding)
            from .coding import flat_codebook

            context.update(user=user, csrf=user["csrf"], codes=flat_codebook(state.store()),
                           msg=request.query_params.get("msg", "")[:200])
        last_page = max(1, min(webview.MAX_PAGE, math.ceil(result.candidates / PER_PAGE)))
        if len(result.hits) < PER_PAGE:
            last_page = params.page
        return render(request, "search.html", result=result, hits=hits, groups=webview.facet_groups(params, result.facets),
                      pages=webview.page_links(params.page, last_page, lambda n: params.url(page=n)),
                      first_rank=(params.page - 1) * PER_PAGE + 1, **context)

    @app.get("/api/search", summary="Sök avsnitt (samma parametrar som söksidan)")
    async def api_search(params: SearchParams = Depends(search_params)):
        if not params.q and not params.active_filters():
            raise QueryError("ange en fråga (q) eller minst ett filter")
        result = await search_async(params)
        return json_response(dict(result.to_json(), page=params.page, per_page=PER_PAGE,
                                  params={k: v for k, v in params.__dict__.items() if v not in ("", None)}))

    @app.get("/search.csv", summary="Resultatlistan som CSV (upp till 200 träffar)")
    async def search_csv(request: Request, params: SearchParams = Depends(search_params),
                   sep: str = Query("semicolon", description="semicolon (Excel, svenska inställningar) eller comma")):
        if sep not in ("semicolon", "comma"):
            raise QueryError("sep måste vara semicolon eller comma")
        if params.is_empty():
            raise QueryError("ange en fråga (q) eller minst ett filter")
        result = await search_async(params, k=webview.CSV_MAX_HITS, offset=0)
        base = str(request.base_url).rstrip("/")
        body = webview.hits_csv([h.to_json() for h in result.hits], base, ";" if sep == "semicolon" else ",")
        return Response(body, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="textmine-traffar.csv"'})

    # --- documents ---------------------------------------------------------------------

    @app.get("/documents", response_class=HTMLResponse, summary="Alla dokument")
    def documents_page(request: Request, type: Optional[str] = Query(None, description="Dokumenttyp.")):
        if type and type not in webview.DOC_TYPES:
            raise QueryError(f"okänd dokumenttyp '{type[:40]}'")
        docs = state.store().list_documents(type or None)
        return render(request, "documents.html", docs=docs, doc_type=type)

    @app.get("/api/documents", summary="Alla dokument (som `textmine docs --json`)")
    def api_documents(type: Optional[str] = Query(None, description="Dokumenttyp.")):
        return json_response(state.store().list_documents(type or None))

    def load_document(doc_id: int):
        store = state.store()
        doc = store.get_document(doc_id)
        row = store.db.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        return doc, dict(row)

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, summary="Ett dokument, sida för sida")
    def document_page(
        request: Request,
        doc_id: int = PathParam(..., ge=1, le=2**62),
        page: Optional[int] = Query(None, ge=1, le=100_000, description="Sidan att visa och rulla till."),
        passage: Optional[str] = Query(None, max_length=64, description="Avsnittet (träffen) att markera."),
        q: Optional[str] = Query(None, max_length=webview.MAX_QUERY_CHARS, description="Sökord att markera."),
    ):
        doc, row = load_document(doc_id)
        if page is not None and page > doc.n_pages:
            raise NotFound(f"sidan {page} finns inte: dokumentet har {doc.n_pages} sidor")
        hit = None
        if passage:
            hit = state.store().passage_by_id(passage)
            if hit["doc_id"] != doc_id:
                raise NotFound(f"avsnittet {passage} hör inte till detta dokument")
            page = page or hit["page_start"]
        terms = lexical.query_terms(q) if q else []
        view = webview.document_view(doc, hit, terms)
        similar_to = hit or webview.first_passage_on(state.store().document_passages(doc_id), page or 1)
        similar = []
        if similar_to:
            similar = [h.to_json() for h in state.searcher().similar(similar_to["passage_id"], k=SIMILAR_K).hits]
            for h in similar:
                h["snippet"] = webview.snippet(h["text"], [], 240)
        card = next(iter(list_cards(state.store(), doc_id=doc_id)), None) if doc.doc_type == "court_ruling" else None
        user = current_user(state, request)
        to_code = []
        if user:  # the passages of the page shown, each with a link to code it
            shown = page or 1
            to_code = [dict(r, snippet=" ".join(r["text"].split())[:90]) for r in state.store().document_passages(doc_id)
                       if r["page_start"] <= shown <= r["page_end"] and r["kind"] != "footnotes"]
        examples = [e for e in list_examples(state.store(), document=doc_id) if e.state != "rejected"]
        return render(request, "document.html", doc=doc, row=row, view=view, page=page, hit=hit, q=q or "", card=card,
                      similar=similar, similar_to=similar_to, entities=webview.document_entities(doc), user=user,
                      to_code=to_code, examples=examples)

    @app.get("/api/documents/{doc_id}", summary="Ett dokument (som `textmine show --json`)")
    def api_document(doc_id: int = PathParam(..., ge=1, le=2**62),
                     page: Optional[int] = Query(None, ge=1, le=100_000, description="Bara denna sida.")):
        doc, _ = load_document(doc_id)
        if page is not None:
            if page > doc.n_pages:
                raise NotFound(f"sidan {page} finns inte: dokumentet har {doc.n_pages} sidor")
            doc.pages = [p for p in doc.pages if p.number == page]
        return json_response(doc.to_json())

    @app.get("/documents/{doc_id}/pages/{page}.png", summary="Sidbild ur PDF:en")
    def page_image(doc_id: int = PathParam(..., ge=1, le=2**62), page: int = PathParam(..., ge=1, le=100_000)):
        _, row = load_document(doc_id)
        png = page_png(state.home, row["path"], row["sha256"], page, row["n_pages"])
        return FileResponse(png, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    @app.get("/documents/{doc_id}/file", summary="Originalfilen (öppnas på sidan med #page=N)")
    def original_file(doc_id: int = PathParam(..., ge=1, le=2**62)):
        _, row = load_document(doc_id)
        f = source_file(row["path"], row["sha256"])
        media = {"pdf": "application/pdf", "txt": "text/plain; charset=utf-8",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}.get(row["format"])
        disposition = "inline" if row["format"] in ("pdf", "txt") else "attachment"
        return FileResponse(f, media_type=media, filename=f.name, content_disposition_type=disposition)

    @app.get("/api/passages/{passage_id}/similar", summary="Liknande avsnitt i andra dokument (som `textmine similar --json`)")
    def api_similar(passage_id: str = PathParam(..., max_length=64), k: int = Query(10, ge=1, le=100)):
        return json_response(state.searcher().similar(passage_id, k=k).to_json())

    # --- entities ----------------------------------------------------------------------

    def entity_rows(label: Optional[str], limit: int) -> list[dict]:
        if label and label not in webview.LABELS:
            raise QueryError(f"okänd etikett '{label[:40]}': använd {', '.join(webview.LABELS)}")
        rows = state.store().entity_counts(label or None)
        gaz = load_gazetteer()
        for r in rows:
            r["name"] = gaz.display_name(r["label"], r["norm"])
        return rows[:limit] if limit else rows

    @app.get("/entities", response_class=HTMLResponse, summary="Entiteter: kommuner, län, domstolar, lagrum ...")
    def entities_page(request: Request, label: Optional[str] = Query(None, description="Bara denna etikett.")):
        rows = entity_rows(label, 0)
        groups: dict[str, list[dict]] = {}
        for r in rows:
            if r["label"] in webview.BROWSABLE_LABELS:
                groups.setdefault(r["label"], []).append(r)
        order = [lab for lab in webview.BROWSABLE_LABELS if lab in groups]
        return render(request, "entities.html", groups=groups, order=order, label=label,
                      per_group=0 if label else 12)

    @app.get("/api/entities", summary="Entiteter med antal (som `textmine entities --json`)")
    def api_entities(label: Optional[str] = Query(None, description="Bara denna etikett, t.ex. PROVISION."),
                     limit: int = Query(0, ge=0, le=100_000, description="Högst så många (0 = alla).")):
        return json_response(entity_rows(label, limit))

    def entity_data(label: str, norm: str, page: int) -> tuple[dict, list[dict]]:
        if label not in webview.LABELS:
            raise QueryError(f"okänd etikett '{label[:40]}': använd {', '.join(webview.LABELS)}")
        store = state.store()
        documents = store.entity_documents(label, norm)
        if not documents:
            raise NotFound(f"inget dokument nämner {webview.label_name(label).lower()} '{norm[:80]}'")
        total, rows = store.entity_passages(label, norm, ENTITY_PAGE_SIZE, (page - 1) * ENTITY_PAGE_SIZE)
        by_year = Counter((d["date"] or "okänt")[:4] for d in documents)
        by_type = Counter(d["doc_type"] for d in documents)
        passages = [
            {"passage_id": r["passage_id"], "doc_id": r["doc_id"], "title": r["title"], "doc_type": r["doc_type"],
             "date": r["date"], "page": r["page_start"], "page_end": r["page_end"], "text": r["text"],
             "heading_path": json.loads(r["heading_path"] or "[]")}
            for r in rows
        ]
        return {
            "label": label, "norm": norm, "name": load_gazetteer().display_name(label, norm),
            "documents": documents, "mentions": sum(d["mentions"] for d in documents),
            "by_year": dict(sorted(by_year.items())), "by_type": dict(by_type.most_common()),
            "passages": passages, "passages_total": total, "page": page, "per_page": ENTITY_PAGE_SIZE,
        }, rows

    @app.get("/entities/{label}/{norm:path}", response_class=HTMLResponse, summary="En entitet: dokument och avsnitt")
    def entity_page(request: Request, label: str = PathParam(..., max_length=20), norm: str = PathParam(..., max_length=300),
                    page: int = Query(1, ge=1, le=10_000)):
        data, rows = entity_data(label, norm, page)
        store = state.store()
        mentions: dict[int, list] = {}
        for p, r in zip(data["passages"], rows):
            if r["doc_id"] not in mentions:
                mentions[r["doc_id"]] = store.entity_mentions(r["doc_id"], label, norm)
            marks = webview.passage_ranges(json.loads(r["spans"] or "[]"), mentions[r["doc_id"]])
            p["snippet"] = webview.snippet(p["text"], marks, 320)
        last_page = max(1, math.ceil(data["passages_total"] / ENTITY_PAGE_SIZE))
        pages = webview.page_links(page, last_page, lambda n: f"{webview.entity_href(label, norm)}?page={n}#passages")
        # a provision's (or a law's) page lists every ruling that applies it
        applying = list_cards(store, provision=norm) if label in ("PROVISION", "LAW") else []
        return render(request, "entity.html", e=data, pages=pages, applying=applying)

    @app.get("/api/entities/{label}/{norm:path}", summary="En entitet: dokument, avsnitt, antal per år och typ")
    def api_entity(label: str = PathParam(..., max_length=20), norm: str = PathParam(..., max_length=300),
                   page: int = Query(1, ge=1, le=10_000)):
        return json_response(entity_data(label, norm, page)[0])

    # --- precedent cards ------------------------------------------------------------------

    def ruling_filters(court_level, outcome, provision, court, year_from, year_to) -> dict:
        from .rulings import LEVELS, OUTCOMES

        if court_level and court_level not in LEVELS:
            raise QueryError(f"okänd instans '{court_level[:40]}': använd {', '.join(LEVELS)}")
        if outcome and outcome not in OUTCOMES:
            raise QueryError(f"okänt utfall '{outcome[:40]}': använd {', '.join(OUTCOMES)}")
        years = []
        for name, value in (("year_from", year_from), ("year_to", year_to)):
            if value and not (value.isdigit() and 1900 <= int(value) <= 2100):
                raise QueryError(f"{name} måste vara ett årtal mellan 1900 och 2100")
            years.append(int(value) if value else None)
        return dict(court_level=court_level or None, outcome=outcome or None, provision=(provision or "").strip() or None,
                    court=(court or "").strip() or None, year_from=years[0], year_to=years[1])

    def ruling_params(
        court_level: Optional[str] = Query(None, description="förvaltningsrätt, kammarrätt, högsta instans eller other."),
        outcome: Optional[str] = Query(None, description="bifall, delvis bifall, avslag, undanröjt, återförvisat, prövningstillstånd meddelas inte, avvisat."),
        provision: Optional[str] = Query(None, max_length=100, description="Lagrum, t.ex. 2001:453 4 kap. 1 § (eller en lag: 2001:453)."),
        court: Optional[str] = Query(None, max_length=100, description="Domstol (del av namnet)."),
        year_from: Optional[str] = Query(None, max_length=8),
        year_to: Optional[str] = Query(None, max_length=8),
    ) -> tuple[dict, str]:
        """The filters (checked) and the query string that repeats them in links."""
        from urllib.parse import urlencode

        raw = dict(court_level=court_level, outcome=outcome, provision=provision, court=court, year_from=year_from, year_to=year_to)
        return ruling_filters(**raw), urlencode({k: v for k, v in raw.items() if v})

    @app.get("/rulings", response_class=HTMLResponse, summary="Domar som prejudikatkort, med filter")
    def rulings_page(request: Request, params: tuple = Depends(ruling_params)):
        from .rulings import LEVELS, OUTCOMES

        filters, query = params
        cards = list_cards(state.store(), **filters)
        return render(request, "rulings.html", cards=cards, f=filters, levels=LEVELS, outcomes=OUTCOMES, query=query)

    @app.get("/api/rulings", summary="Prejudikatkort (som `textmine rulings --json`)")
    def api_rulings(params: tuple = Depends(ruling_params)):
        return json_response(list_cards(state.store(), **params[0]))

    @app.get("/rulings.csv", summary="Prejudikatkorten som CSV")
    def rulings_csv(params: tuple = Depends(ruling_params)):
        import csv
        import io

        from .rulings import CSV_COLUMNS, csv_row

        cards = list_cards(state.store(), **params[0])
        buf = io.StringIO()
        buf.write("\ufeff")
        writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows([webview.csv_safe_row(csv_row(c)) for c in cards])
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="textmine-domar.csv"'})

    register_coding_routes(app, state, render)
    register_flow_routes(app, state, render)
    register_practice_routes(app, state, render)

    @app.get("/api/stats", summary="Vad lagret innehåller")
    def api_stats():
        return json_response(state.store().stats())

    return app
