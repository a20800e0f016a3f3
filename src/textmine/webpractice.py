"""The good-example catalogue in the web app (in Swedish): the list with filters, one
example with its source and review history, the review form, collections, and the
compiled report as HTML, PDF or DOCX.

Reading is open like searching; reviewing and collecting need a login (the coders'
accounts of webcoding.py) and carry the session's CSRF token."""

from __future__ import annotations

from typing import Optional
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.responses import RedirectResponse, Response

from . import practice, report as reportmod
from .nlp.gazetteer import load_gazetteer
from .webcoding import current_user, form_of, logged_in_user, safe_next

REPORT_FORMATS = ("html", "pdf", "docx")


def _json(data, status: int = 200) -> Response:
    from .app import json_response

    return json_response(data, status)


def register_practice_routes(app: FastAPI, state, render) -> None:
    """Add the catalogue pages to the app; `render(request, template, **ctx)` as in app.py."""

    def filters(state_: Optional[str], county: Optional[str], kind: Optional[str], collection: Optional[str]) -> dict:
        f = {"state": state_ or None, "county": county or None, "kind": kind or None, "collection": collection or None}
        if f["state"] and f["state"] not in practice.STATES:
            raise practice.PracticeError(f"okänt läge '{f['state']}': välj candidate, verified eller rejected")
        if f["kind"] and f["kind"] not in practice.KINDS:
            raise practice.PracticeError(f"okänd typ '{f['kind']}': välj {', '.join(practice.KINDS)}")
        if f["county"]:
            try:
                f["county"] = practice.county_code(f["county"])
            except practice.PracticeError:
                raise practice.PracticeError(f"okänt län '{f['county']}': ange länskod (18) eller namn (Örebro län)")
        if f["collection"]:
            state.store().collection(f["collection"])  # NotFound (404) in Swedish
        return f

    def back(url: str, message: str | None = None) -> RedirectResponse:
        url = safe_next(url)
        if message:
            url += ("&" if "?" in url else "?") + urlencode({"msg": message})
        return RedirectResponse(url, status_code=303)

    @app.get("/examples", summary="Katalogen över goda exempel, med filter")
    def examples_page(request: Request,
                      state_: Optional[str] = Query(None, alias="state", max_length=20, description="candidate, verified eller rejected."),
                      county: Optional[str] = Query(None, max_length=60, description="Länskod eller länsnamn."),
                      kind: Optional[str] = Query(None, max_length=20, description="agreement, routine, network, training eller other."),
                      collection: Optional[str] = Query(None, max_length=120, description="Samlingens namn eller id.")):
        f = filters(state_, county, kind, collection)
        store = state.store()
        found = practice.list_examples(store, **f)
        everything = store.examples()
        known = load_gazetteer().counties
        # the county filter offers the counties that have examples, by name
        counties = sorted(((c, known[c].name) for c in {e["county"] for e in everything} if c in known),
                          key=lambda c: c[1])
        query = urlencode({k: v for k, v in f.items() if v})
        return render(request, "examples.html", examples=found, f=f, query=query, kinds=practice.KINDS_SV,
                      states=practice.STATES_SV, collections=store.collections(), counties=counties,
                      total=len(everything), msg=request.query_params.get("msg", "")[:200])

    @app.get("/api/examples", summary="Goda exempel (som `textmine examples list --json`)")
    def api_examples(state_: Optional[str] = Query(None, alias="state", max_length=20),
                     county: Optional[str] = Query(None, max_length=60), kind: Optional[str] = Query(None, max_length=20),
                     collection: Optional[str] = Query(None, max_length=120)):
        f = filters(state_, county, kind, collection)
        return _json([e.to_json() for e in practice.list_examples(state.store(), **f)])

    @app.get("/examples/{example_id}", summary="Ett gott exempel: källa, granskning, samlingar")
    def example_page(request: Request, example_id: int = PathParam(..., ge=1, le=2**62)):
        store = state.store()
        e = practice.get_example(store, example_id)
        user = current_user(state, request)
        return render(request, "example.html", e=e, reviews=store.example_reviews(example_id), user=user,
                      csrf=user["csrf"] if user else "", kinds=practice.KINDS_SV, states=practice.STATES_SV,
                      collections=store.collections(), counties=sorted(load_gazetteer().counties.values(), key=lambda c: c.name),
                      msg=request.query_params.get("msg", "")[:200])

    @app.get("/api/examples/{example_id}", summary="Ett gott exempel (som `textmine examples show --json`)")
    def api_example(example_id: int = PathParam(..., ge=1, le=2**62)):
        store = state.store()
        return _json({**practice.get_example(store, example_id).to_json(), "reviews": store.example_reviews(example_id)})

    @app.post("/examples/{example_id}/review", summary="Granska ett exempel (kräver inloggning)")
    async def review(request: Request, example_id: int = PathParam(..., ge=1, le=2**62)):
        user = logged_in_user(state, request, "logga in för att granska exempel")
        f = await form_of(request, user)
        url = f"/examples/{example_id}"
        decision = str(f.get("state") or "")
        if decision not in practice.STATES:
            raise practice.PracticeError("välj ett beslut: kandidat, verifierad eller avvisad")
        if decision == "rejected" and not str(f.get("note") or "").strip():
            raise practice.PracticeError("skriv i anteckningen varför exemplet avvisas")
        parties = f.get("parties")
        practice.review_example(
            state.store(), example_id, state=decision, reviewer=user["coder_name"], note=str(f.get("note") or ""),
            title=f.get("title"), kind=f.get("kind"), county=f.get("county"),
            parties=[p for p in str(parties).split(",")] if parties is not None else None,
            date=f.get("date"), mechanism=f.get("mechanism"))
        return back(url, f"Exemplet är nu {practice.STATES_SV[decision].lower()}.")

    @app.post("/examples/{example_id}/collect", summary="Lägg exemplet i en samling (kräver inloggning)")
    async def collect(request: Request, example_id: int = PathParam(..., ge=1, le=2**62)):
        user = logged_in_user(state, request, "logga in för att samla exempel")
        f = await form_of(request, user)
        store = state.store()
        name = " ".join(str(f.get("new_collection") or "").split())
        if name:
            coll = practice.create_collection(store, name, str(f.get("description") or ""))
        elif f.get("collection"):
            coll = store.collection(str(f.get("collection")))
        else:
            raise practice.PracticeError("välj en samling eller skriv namnet på en ny")
        if f.get("remove"):
            practice.remove_from_collection(store, coll["id"], [example_id])
            return back(f"/examples/{example_id}", f"Borttaget ur {coll['name']}.")
        practice.add_to_collection(store, coll["id"], [example_id])
        return back(f"/examples/{example_id}", f"Tillagt i {coll['name']}.")

    @app.get("/collections", summary="Samlingar av goda exempel")
    def collections_page(request: Request):
        store = state.store()
        user = current_user(state, request)
        return render(request, "collections.html", collections=store.collections(), user=user,
                      csrf=user["csrf"] if user else "", msg=request.query_params.get("msg", "")[:200])

    @app.get("/api/collections", summary="Samlingar (som `textmine examples collections --json`)")
    def api_collections():
        return _json(state.store().collections())

    @app.post("/collections", summary="Skapa en samling (kräver inloggning)")
    async def create_collection(request: Request):
        user = logged_in_user(state, request, "logga in för att skapa samlingar")
        f = await form_of(request, user)
        coll = practice.create_collection(state.store(), str(f.get("name") or ""), str(f.get("description") or ""))
        return back(f"/examples?collection={quote(str(coll['id']))}", f"Samlingen {coll['name']} är skapad.")

    @app.get("/report.{fmt}", summary="Sammanställning av verifierade exempel per län (html, pdf eller docx)")
    def report_file(fmt: str = PathParam(..., max_length=5),
                    collection: Optional[str] = Query(None, max_length=120, description="Samlingens namn eller id."),
                    county: Optional[str] = Query(None, max_length=60), kind: Optional[str] = Query(None, max_length=20),
                    title: Optional[str] = Query(None, max_length=200)):
        if fmt not in REPORT_FORMATS:
            raise reportmod.ReportError(f"okänt format '{fmt}': välj html, pdf eller docx")
        f = filters(None, county, kind, collection)
        try:
            rep = reportmod.compile_report(state.store(), collection=f["collection"], county=f["county"], kind=f["kind"],
                                           title=title)
        except reportmod.ReportError:
            raise reportmod.ReportError("det finns inga verifierade exempel att sammanställa med dessa val: "
                                        "verifiera exempel först")
        data = reportmod.report_bytes(rep, fmt)
        headers = {}
        if fmt != "html":
            headers["Content-Disposition"] = f'attachment; filename="goda-exempel.{fmt}"'
        return Response(data, media_type=reportmod.MEDIA_TYPES[fmt], headers=headers)

