"""The coding pages of the web app (in Swedish): login, the codebook, coding a passage
or a span, bulk coding from search results, suggestions, memos, agreement, charts,
quotes and exports.

Searching stays open; everything under /coding needs a login. Sessions are random
tokens in an HttpOnly, SameSite=Lax cookie, stored hashed; every POST carries the
session's CSRF token. Passwords are hashed with scrypt (coding.hash_password). The
first account can be made from the login page while no coder has a password; after
that, logged-in coders add colleagues."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Optional
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from . import analysis, charts, coding, coding_export, webview
from .errors import NotFound, TextmineError

SESSION_COOKIE = "textmine_session"
SESSION_TTL = 12 * 3600
LOGIN_COOKIE = "textmine_login_csrf"
SUGGESTIONS = 10
EXPORT_TYPES = {
    "qdpx": ("application/zip", "textmine-projekt.qdpx"),
    "csv": ("text/csv; charset=utf-8", "textmine-kodade-segment.csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "textmine-kodade-segment.xlsx"),
    "qdc": ("application/xml", "textmine-kodbok.qdc"),
    "codebook-csv": ("text/csv; charset=utf-8", "textmine-kodbok.csv"),
}


class LoginRequired(TextmineError):
    """The page needs a logged-in coder."""


class Forbidden(TextmineError):
    """A form without a valid CSRF token, or a wrong password."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current_user(state, request: Request) -> dict | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    return state.store().session(_hash(token))


def safe_next(value: str | None) -> str:
    """Only a path on this site: no scheme, no host, no '//' (an open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return "/coding"
    return value


def logged_in_user(state, request: Request, why: str = "logga in för att koda") -> dict:
    """The logged-in coder, or LoginRequired (a GET is sent to the login page)."""
    user = current_user(state, request)
    if user is None:
        raise LoginRequired(why)
    return user


async def form_of(request: Request, user: dict, lists: tuple[str, ...] = ("passage_id",)) -> dict:
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    data = {k: form.getlist(k) if k in lists else form.get(k) for k in form.keys()}
    token = str(form.get("csrf") or "")
    if not hmac.compare_digest(token, user["csrf"]):
        raise Forbidden("formuläret saknar giltig CSRF-token: ladda om sidan och försök igen")
    return data


def register_coding_routes(app: FastAPI, state, render) -> None:
    """Add the coding pages to the app; `render(request, template, **ctx)` as in app.py."""

    # --- session helpers ------------------------------------------------------------------

    def require_user(request: Request) -> dict:
        return logged_in_user(state, request)

    def back(url: str, message: str | None = None) -> RedirectResponse:
        url = safe_next(url)
        if message:
            url += ("&" if "?" in url else "?") + urlencode({"msg": message})
        return RedirectResponse(url, status_code=303)

    def page(request: Request, user: dict, name: str, **ctx):
        return render(request, name, user=user, csrf=user["csrf"], msg=request.query_params.get("msg", "")[:200], **ctx)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        if request.method == "GET" and not request.url.path.startswith("/api"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return render(request, "error.html", status=401, status_code=401, message=str(exc))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        return render(request, "error.html", status=403, status_code=403, message=str(exc))

    # --- login --------------------------------------------------------------------------

    def login_page(request: Request, next_url: str, error: str = "", status: int = 200):
        token = secrets.token_urlsafe(24)
        first = not any(c["has_password"] for c in state.store().coders())
        resp = render(request, "login.html", status=status, next=safe_next(next_url), error=error, login_csrf=token,
                      first_account=first, user=None)
        resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", max_age=3600)
        return resp

    @app.get("/login", summary="Inloggning för kodare")
    def login_form(request: Request, next: Optional[str] = Query(None, max_length=500)):
        return login_page(request, next or "/coding")

    @app.post("/login", summary="Logga in (eller skapa det första kontot)")
    async def login(request: Request):
        form = await request.form()
        name = " ".join(str(form.get("name") or "").split())
        password = str(form.get("password") or "")
        next_url = safe_next(str(form.get("next") or ""))
        token = str(form.get("csrf") or "")
        if not token or not hmac.compare_digest(token, request.cookies.get(LOGIN_COOKIE, "")):
            return login_page(request, next_url, "Sidan var för gammal: försök igen.", 403)
        store = state.store()
        first = not any(c["has_password"] for c in store.coders())
        if form.get("create") and first:
            if not name or len(name) > 80:
                return login_page(request, next_url, "Ange ett namn (högst 80 tecken).", 400)
            try:
                coding.add_coder(store, name, password)
            except TextmineError:
                return login_page(request, next_url, "Lösenordet måste ha minst 8 tecken.", 400)
        row = store.db.execute("SELECT * FROM coders WHERE name=?", (name,)).fetchone()
        ok = row is not None and await run_in_threadpool(coding.verify_password, password, row["password"])
        if not ok:
            return login_page(request, next_url, "Fel namn eller lösenord.", 400)
        session = secrets.token_urlsafe(32)
        store.add_session(_hash(session), row["id"], secrets.token_urlsafe(32), SESSION_TTL)
        resp = RedirectResponse(next_url, status_code=303)
        resp.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", max_age=SESSION_TTL)
        resp.delete_cookie(LOGIN_COOKIE)
        return resp

    @app.post("/logout", summary="Logga ut")
    async def logout(request: Request):
        user = require_user(request)
        await form_of(request, user)
        state.store().drop_session(_hash(request.cookies.get(SESSION_COOKIE, "")))
        resp = RedirectResponse("/", status_code=303)
        resp.delete_cookie(SESSION_COOKIE)
        return resp

    # --- overview and codebook ----------------------------------------------------------------

    @app.get("/coding", summary="Kodning: kodbok och senaste kodningar")
    def coding_home(request: Request):
        user = require_user(request)
        store = state.store()
        mine = [coding.coding_json(r) for r in store.codings(coder_id=user["coder"])][-15:][::-1]
        return page(request, user, "coding.html", codes=coding.flat_codebook(store), mine=mine,
                    coders=store.coders(), quotes=len(store.quotes()))

    @app.post("/coding/codes", summary="Lägg till en kod")
    async def add_code(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        coding.add_code(state.store(), f.get("name") or "", parent=f.get("parent") or None,
                        description=f.get("description") or "", inclusion=f.get("inclusion") or "",
                        exclusion=f.get("exclusion") or "", examples=f.get("examples") or "")
        return back("/coding", f"Koden {f.get('name')} är tillagd.")

    @app.get("/coding/codes/{code_id}", summary="En kod: beskrivning, kodade avsnitt, förslag")
    def code_page(request: Request, code_id: int = PathParam(..., ge=1, le=2**62)):
        user = require_user(request)
        store = state.store()
        code = next((c for c in coding.flat_codebook(store) if c.id == code_id), None)
        if code is None:
            raise NotFound(f"koden {code_id} finns inte")
        rows = [coding.coding_json(r) for r in store.codings(code_ids=[code_id])]
        s = state.searcher()
        suggestions = [x.to_json() for x in coding.suggest_for_code(store, s.embedder, s.index, code.name,
                                                                      coder_name=user["coder_name"], k=SUGGESTIONS)]
        for x in suggestions:
            x["snippet"] = webview.snippet(x["text"], [], 320)
        memos = store.memos("code", str(code_id))
        by_id = {c.id: c for c in coding.flat_codebook(store)}
        return page(request, user, "code.html", code=code, parent=by_id.get(code.parent), codings=rows,
                    suggestions=suggestions, memos=memos, codes=list(by_id.values()))

    @app.post("/coding/codes/{code_id}", summary="Ändra en kod")
    async def edit_code(request: Request, code_id: int = PathParam(..., ge=1, le=2**62)):
        user = require_user(request)
        f = await form_of(request, user)
        store = state.store()
        code = store.code(code_id)
        parent = f.get("parent")
        coding.update_code(store, code["name"], name=f.get("name"), description=f.get("description"),
                           inclusion=f.get("inclusion"), exclusion=f.get("exclusion"), examples=f.get("examples"),
                           parent=parent if parent is not None else None)
        return back(f"/coding/codes/{code_id}", "Koden är sparad.")

    # --- coding a passage -----------------------------------------------------------------

    @app.get("/coding/passages/{passage_id}", summary="Koda ett avsnitt eller en del av det")
    def passage_page(request: Request, passage_id: str = PathParam(..., max_length=64)):
        user = require_user(request)
        store = state.store()
        p = store.passage_by_id(passage_id)
        rows = [coding.coding_json(r) for r in store.codings(passage_ids=[passage_id])]
        s = state.searcher()
        try:
            suggestions = [x.to_json() for x in coding.suggest_for_passage(store, s.embedder, s.index, passage_id,
                                                                           coder_name=user["coder_name"], k=5)]
        except NotFound:
            suggestions = []
        spans = [(r["start"], r["end"]) for r in rows if r["start"] is not None]
        segs = _coded_segments(p["text"], spans)
        quote = store.quote_for([passage_id]).get(passage_id)
        return page(request, user, "passage.html", p=p, codings=rows, suggestions=suggestions, segs=segs,
                    codes=coding.flat_codebook(store), memos=store.memos("passage", passage_id), quote=quote,
                    footnotes=json.loads(p["footnotes"] or "[]"), heading=json.loads(p["heading_path"] or "[]"))

    @app.post("/coding/assign", summary="Koda ett avsnitt (helt eller ett spann)")
    async def assign(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        pid = (f.get("passage_id") or [""])[0]
        start, end = _int_or_none(f.get("start"), "start"), _int_or_none(f.get("end"), "slut")
        store = state.store()
        text = check_passage(store, pid)["text"]
        check_code(store, f.get("code"))
        if (start is None) != (end is None):
            raise coding.CodingError("ange både start och slut för en markering (eller inget för hela avsnittet)")
        if start is not None and not (0 <= start < end <= len(text)):
            raise coding.CodingError(f"markeringen {start}–{end} ligger utanför avsnittet, som har {len(text)} tecken")
        ids = coding.assign(store, user["coder_name"], f.get("code") or "", pid, start, end)
        what = "Markeringen är kodad" if start is not None else "Avsnittet är kodat"
        return back(f.get("next") or f"/coding/passages/{quote(pid)}",
                    f"{what} med {f.get('code')}." if ids else "Kodningen fanns redan.")

    @app.post("/coding/bulk", summary="Koda flera avsnitt från en träfflista")
    async def bulk(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        ids = [p for p in (f.get("passage_id") or []) if p]
        if not ids:
            raise coding.CodingError("markera minst ett avsnitt att koda")
        check_code(state.store(), f.get("code"))
        for pid in ids:
            check_passage(state.store(), pid)
        added = coding.assign_bulk(state.store(), user["coder_name"], f.get("code") or "", ids)
        return back(f.get("next") or "/", f"{len(added)} avsnitt kodade med {f.get('code')} (ångra på kodningssidan).")

    @app.post("/coding/remove", summary="Ta bort en egen kodning")
    async def remove(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        coding.remove(state.store(), user["coder_name"], [_int_or_none(f.get("coding_id"), "kodning") or 0])
        return back(f.get("next") or "/coding", "Kodningen är borttagen.")

    @app.post("/coding/undo", summary="Ångra senaste kodningsåtgärden")
    async def undo(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        done = coding.undo(state.store(), user["coder_name"])
        what = "kodning" if done["kind"] == "assign" else "borttagning"
        return back(f.get("next") or "/coding", f"Ångrade senaste {what} ({len(done['codings'])} st).")

    @app.post("/coding/decide", summary="Godta eller avvisa ett förslag")
    async def decide(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        decision = f.get("decision")
        pid = (f.get("passage_id") or [""])[0]
        coding.decide(state.store(), user["coder_name"], f.get("code") or "", pid, decision or "")
        return back(f.get("next") or "/coding", "Förslaget är godtaget." if decision == "accept" else "Förslaget är avvisat och visas inte igen.")

    @app.post("/coding/memo", summary="Skriv ett memo om en kod, ett avsnitt eller ett dokument")
    async def memo(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        kind, target = f.get("target_kind") or "", f.get("target") or ""
        if kind == "passage":
            target = (f.get("passage_id") or [target])[0]
        if kind == "code" and target.isdigit():
            target = state.store().code(int(target))["name"]
        coding.add_memo(state.store(), kind, target, f.get("text") or "", user["coder_name"])
        return back(f.get("next") or "/coding", "Memot är sparat.")

    @app.post("/coding/coders", summary="Lägg till en kodare med lösenord")
    async def add_coder(request: Request):
        user = require_user(request)
        f = await form_of(request, user)
        name = " ".join((f.get("name") or "").split())
        if not name or len(name) > 80:
            raise coding.CodingError("ange ett namn (högst 80 tecken)")
        coding.add_coder(state.store(), name, f.get("password") or "")
        return back("/coding", f"Kodaren {name} kan nu logga in.")

    # --- agreement, charts, quotes, export ----------------------------------------------------------

    @app.get("/coding/agreement", summary="Överensstämmelse mellan två kodare")
    def agreement_page(request: Request, a: Optional[str] = Query(None, max_length=80), b: Optional[str] = Query(None, max_length=80)):
        user = require_user(request)
        store = state.store()
        active = sorted({r["coder_name"] for r in store.codings()})
        report = None
        if not a and not b and len(active) >= 2:
            a, b = active[0], active[1]
        if a and b:
            report = analysis.agreement(store, a, b)
        return page(request, user, "agreement.html", report=report, coders=active, a=a or "", b=b or "")

    def dimension(by: str) -> str:
        if by not in analysis.DIMENSIONS:
            raise analysis.AnalysisError(f"okänd dimension '{by[:40]}': använd {', '.join(analysis.DIMENSIONS)}")
        return by

    @app.get("/coding/charts", summary="Kodfrekvenser och samförekomst")
    def charts_page(request: Request, by: str = Query("doc_type", max_length=40), coder: Optional[str] = Query(None, max_length=80)):
        user = require_user(request)
        store = state.store()
        table = analysis.frequencies(store, dimension(by), coder_name=coder or None)
        co = analysis.cooccurrence(store, coder_name=coder or None)
        return page(request, user, "charts.html", table=table, co=co, by=by, coder=coder or "",
                    dimensions=analysis.DIMENSIONS_SV, value_sv=analysis.value_sv,
                    coders=sorted({r["coder_name"] for r in store.codings()}),
                    query=urlencode({k: v for k, v in (("by", by), ("coder", coder)) if v}))

    @app.get("/coding/charts/{kind}.{fmt}", summary="Diagram som SVG eller PNG")
    def chart_file(request: Request, kind: str = PathParam(..., max_length=20), fmt: str = PathParam(..., max_length=4),
                   by: str = Query("doc_type", max_length=40), coder: Optional[str] = Query(None, max_length=80)):
        require_user(request)
        if fmt not in charts.FORMATS or kind not in ("frequencies", "heatmap", "cooccurrence"):
            raise NotFound("diagrammet finns inte: använd frequencies, heatmap eller cooccurrence som .svg eller .png")
        store = state.store()
        if kind == "cooccurrence":
            data = charts.heat_map(analysis.cooccurrence(store, coder_name=coder or None), fmt)
        else:
            table = analysis.frequencies(store, dimension(by), coder_name=coder or None)
            data = charts.bar_chart(table, fmt) if kind == "frequencies" else charts.heat_map(table, fmt)
        media = "image/svg+xml" if fmt == "svg" else "image/png"
        return Response(data, media_type=media, headers={"Cache-Control": "no-store"})

    @app.get("/coding/quotes", summary="Intervjucitat med vem som sagt dem")
    def quotes_page(request: Request, size: Optional[str] = Query(None, max_length=20), role: Optional[str] = Query(None, max_length=20),
                    organisation: Optional[str] = Query(None, max_length=20)):
        user = require_user(request)
        for name, value, allowed in (("size", size, ("smaller", "medium", "larger")), ("role", role, ("sending", "receiving")),
                                     ("organisation", organisation, ("municipality", "county_board", "agency", "individual", "other"))):
            if value and value not in allowed:
                raise coding.CodingError(f"okänt värde för {name}: '{value[:20]}'")
        rows = state.store().quotes(size=size or None, role=role or None, organisation=organisation or None)
        return page(request, user, "quotes.html", quotes=rows, f=dict(size=size or "", role=role or "", organisation=organisation or ""),
                    value_sv=analysis.value_sv, codes=coding.flat_codebook(state.store()))

    @app.get("/coding/export.{fmt}", summary="Exportera kodningar (qdpx, csv, xlsx) eller kodboken (qdc, codebook-csv)")
    def export(request: Request, fmt: str = PathParam(..., max_length=20), pseudonymise: int = Query(1, ge=0, le=1)):
        require_user(request)
        if fmt not in EXPORT_TYPES:
            raise NotFound(f"okänt exportformat '{fmt[:20]}': använd {', '.join(EXPORT_TYPES)}")
        import tempfile
        from pathlib import Path

        media, filename = EXPORT_TYPES[fmt]
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / filename
            coding_export.export(state.store(), fmt, out, pseudonymise=bool(pseudonymise))
            body = out.read_bytes()
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def check_code(store, name: str | None) -> dict:
    """The code, or a Swedish one-line error (the coding module speaks English to the CLI)."""
    if not (name or "").strip():
        raise coding.CodingError("välj en kod")
    try:
        return coding.find_code(store, name)
    except NotFound:
        raise NotFound(f"koden '{name[:80]}' finns inte i kodboken") from None


def check_passage(store, passage_id: str) -> dict:
    try:
        return store.passage_by_id(passage_id)
    except NotFound:
        raise NotFound(f"avsnittet '{passage_id[:64]}' finns inte (det kan ha byggts om: sök fram det igen)") from None


def _int_or_none(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise coding.CodingError(f"{name} måste vara ett heltal") from None


def _coded_segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, str, str | None]]:
    """The passage text cut at coded spans (for marking them), as webview segments."""
    cuts = sorted({0, len(text)} | {max(0, min(len(text), x)) for s in spans for x in s})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        coded = any(s <= a and b <= e for s, e in spans)
        out.append((text[a:b], "coded" if coded else "", None))
    return out
