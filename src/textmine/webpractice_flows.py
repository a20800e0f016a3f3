"""The flows view and the county pages of the web app (in Swedish), with their JSON twins:
- /flows: sender -> receiver by county (or municipality), a matrix chart and a table,
  filtered by year and target group; /flows.svg, /flows.png; /api/flows (= `textmine
  cases --flows LEVEL --json`);
- /flows/passages: the case passages of one flow; /api/flows/passages (= `textmine cases
  --sender X --receiver Y --level LEVEL --json`);
- /counties, /counties/{code}: the 21 counties and one county's overview;
  /counties/{code}/timeline.svg|png; /api/counties (= `textmine county --json`) and
  /api/counties/{code} (= `textmine county CODE --json`).

Errors carry a Swedish message here (FlowError.sv, UnknownCounty.sv): unknown places
are 404, other bad parameters 400."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlencode

from fastapi import FastAPI, Path as PathParam, Query, Request
from fastapi.responses import Response

from . import cases as cases_mod
from . import county as county_mod
from .cases import FlowError, FlowFilters, UnknownPlace
from .errors import NotFound
from .nlp.gazetteer import load_gazetteer
from .search import QueryError

LEVELS_SV = {"county": "län", "municipality": "kommun"}
SNIPPET_CHARS = 300


def _json(data, status: int = 200) -> Response:
    from .app import json_response

    return json_response(data, status)


def _year(name: str, value: Optional[str]) -> int | None:
    v = (value or "").strip()
    if not v:
        return None
    if not v.isdigit() or not 1900 <= int(v) <= 2100:
        raise QueryError(f"{name} måste vara ett årtal mellan 1900 och 2100, inte '{v[:20]}'")
    return int(v)


def _swedish(fn, *args, **kwargs):
    """Call fn; a flow or county error becomes a web error with its Swedish message."""
    try:
        return fn(*args, **kwargs)
    except (UnknownPlace, county_mod.UnknownCounty) as exc:
        raise NotFound(exc.sv) from None
    except FlowError as exc:
        raise QueryError(exc.sv) from None


def register_flow_routes(app: FastAPI, state, render) -> None:
    """Add the flows view and the county pages; `render(request, template, **ctx)` as in app.py."""

    def flow_params(
        level: Optional[str] = Query(None, max_length=20, description="county (län, standard) eller municipality (kommun)."),
        year_from: Optional[str] = Query(None, max_length=8, description="Fall detta år eller senare (fall utan år utelämnas)."),
        year_to: Optional[str] = Query(None, max_length=8, description="Fall detta år eller tidigare."),
        target_group: Optional[str] = Query(None, max_length=60, description="Målgrupp, t.ex. nyanlända."),
    ) -> FlowFilters:
        return _swedish(FlowFilters, level=(level or "county").strip(), year_from=_year("year_from", year_from),
                        year_to=_year("year_to", year_to), target_group=(target_group or "").strip() or None)

    def query_of(f: FlowFilters, **extra) -> str:
        raw = dict(level=f.level, year_from=f.year_from, year_to=f.year_to, target_group=f.target_group, **extra)
        return urlencode({k: v for k, v in raw.items() if v not in (None, "")})

    def filtered_cases(f: FlowFilters):
        return f.apply(cases_mod.cases(state.store()))

    def flow_rows(f: FlowFilters) -> list[dict]:
        return [fl.to_json() for fl in cases_mod.flows(filtered_cases(f), f.level)]

    def place_links(code: str, level: str) -> dict:
        """Where a sender or receiver name links: its county page (a county, or a
        municipality's county)."""
        gaz = load_gazetteer()
        if code == cases_mod.UNKNOWN:
            return {}
        county = code if level == "county" else gaz.county_of(code)
        return {"county": county, "county_name": gaz.counties[county].name if county in gaz.counties else None}

    # --- flows -------------------------------------------------------------------------------

    @app.get("/flows", summary="Flöden avsändande → mottagande, per län eller kommun")
    def flows_page(request: Request, level: Optional[str] = None, year_from: Optional[str] = None,
                   year_to: Optional[str] = None, target_group: Optional[str] = None):
        f = flow_params(level, year_from, year_to, target_group)
        rows = flow_rows(f)
        for r in rows:
            r["sender_link"] = place_links(r["sender"], f.level)
            r["receiver_link"] = place_links(r["receiver"], f.level)
            r["href"] = "/flows/passages?" + query_of(f, sender=r["sender"], receiver=r["receiver"])
        return render(request, "flows.html", f=f, rows=rows, query=query_of(f), levels=LEVELS_SV,
                      target_groups=cases_mod.TARGET_GROUPS, total=sum(r["count"] for r in rows))

    @app.get("/api/flows", summary="Flöden (som `textmine cases --flows LEVEL --json`)")
    def api_flows(level: Optional[str] = None, year_from: Optional[str] = None, year_to: Optional[str] = None,
                  target_group: Optional[str] = None):
        return _json(flow_rows(flow_params(level, year_from, year_to, target_group)))

    def flow_chart(fmt: str, f: FlowFilters) -> Response:
        from .flowcharts import flow_matrix

        title = f"Flöden per {LEVELS_SV[f.level]}: avsändande → mottagande"
        body = flow_matrix(flow_rows(f), fmt, title)
        return Response(body, media_type="image/svg+xml" if fmt == "svg" else "image/png")

    @app.get("/flows.svg", summary="Flödesmatrisen som SVG")
    def flows_svg(level: Optional[str] = None, year_from: Optional[str] = None, year_to: Optional[str] = None,
                  target_group: Optional[str] = None):
        return flow_chart("svg", flow_params(level, year_from, year_to, target_group))

    @app.get("/flows.png", summary="Flödesmatrisen som PNG")
    def flows_png(level: Optional[str] = None, year_from: Optional[str] = None, year_to: Optional[str] = None,
                  target_group: Optional[str] = None):
        return flow_chart("png", flow_params(level, year_from, year_to, target_group))

    def passages_of(f: FlowFilters, sender: Optional[str], receiver: Optional[str]) -> tuple[list, str | None, str | None]:
        if not (sender or receiver):
            raise QueryError("ange sender, receiver eller båda (en länskod, en SCB-kod eller okänd)")
        s = _swedish(cases_mod.resolve_place, sender, f.level) if sender else None
        r = _swedish(cases_mod.resolve_place, receiver, f.level) if receiver else None
        return cases_mod.flow_cases(filtered_cases(f), f.level, s, r), s, r

    @app.get("/flows/passages", summary="Fallavsnitten i ett flöde")
    def flow_passages_page(request: Request, sender: Optional[str] = Query(None, max_length=80),
                           receiver: Optional[str] = Query(None, max_length=80), level: Optional[str] = None,
                           year_from: Optional[str] = None, year_to: Optional[str] = None, target_group: Optional[str] = None):
        f = flow_params(level, year_from, year_to, target_group)
        found, s, r = passages_of(f, sender, receiver)
        gaz = load_gazetteer()

        def name(code):
            if code is None:
                return "alla"
            if code == cases_mod.UNKNOWN:
                return "okänd"
            return gaz.counties[code].name if f.level == "county" else gaz.municipality_name(code)

        items = []
        for c in found:
            j = c.to_json()
            j["snippet"] = " ".join(c.text.split())[:SNIPPET_CHARS] + ("…" if len(" ".join(c.text.split())) > SNIPPET_CHARS else "")
            j["href"] = f"/documents/{c.document}?page={c.page}&passage={c.passage_id}#passage"
            items.append(j)
        return render(request, "flow_passages.html", f=f, items=items, sender=s, receiver=r, sender_name=name(s),
                      receiver_name=name(r), sender_link=place_links(s, f.level) if s else {},
                      receiver_link=place_links(r, f.level) if r else {}, back="/flows?" + query_of(f),
                      api="/api/flows/passages?" + query_of(f, sender=s, receiver=r), levels=LEVELS_SV)

    @app.get("/api/flows/passages", summary="Fallavsnitten i ett flöde (som `textmine cases --sender X --receiver Y --level L --json`)")
    def api_flow_passages(sender: Optional[str] = Query(None, max_length=80), receiver: Optional[str] = Query(None, max_length=80),
                          level: Optional[str] = None, year_from: Optional[str] = None, year_to: Optional[str] = None,
                          target_group: Optional[str] = None):
        f = flow_params(level, year_from, year_to, target_group)
        return _json([c.to_json() for c in passages_of(f, sender, receiver)[0]])

    # --- counties ------------------------------------------------------------------------------

    @app.get("/counties", summary="Länen med antal dokument, fall och goda exempel")
    def counties_page(request: Request):
        rows = [c.to_json() for c in county_mod.county_list(state.store())]
        return render(request, "counties.html", rows=rows)

    @app.get("/api/counties", summary="Länen (som `textmine county --json`)")
    def api_counties():
        return _json([c.to_json() for c in county_mod.county_list(state.store())])

    def overview(code: str):
        return _swedish(county_mod.county_overview, state.store(), code)

    @app.get("/counties/{code}", summary="Ett län: dokument, fall in och ut, goda exempel, överenskommelse, tidslinje")
    def county_page(request: Request, code: str = PathParam(..., max_length=60)):
        o = overview(code).to_json()
        for key in ("cases_in", "cases_out"):
            for c in o[key]:
                c["href"] = f"/documents/{c['document']}?page={c['page']}&passage={c['passage_id']}#passage"
        for key, side in (("flows_out", "sender"), ("flows_in", "receiver")):
            for fl in o[key]:
                fl["href"] = "/flows/passages?" + urlencode({"level": "county", "sender": fl["sender"], "receiver": fl["receiver"]})
                other = fl["receiver"] if side == "sender" else fl["sender"]
                fl["other_link"] = place_links(other, "county")
        return render(request, "county.html", o=o, kinds=KINDS_SV, states=STATES_SV)

    @app.get("/api/counties/{code}", summary="Ett län (som `textmine county CODE --json`)")
    def api_county(code: str = PathParam(..., max_length=60)):
        return _json(overview(code).to_json())

    def timeline(fmt: str, code: str) -> Response:
        from .flowcharts import timeline_chart

        o = overview(code)
        body = timeline_chart([t.__dict__ for t in o.timeline], fmt, f"{o.name} per år")
        return Response(body, media_type="image/svg+xml" if fmt == "svg" else "image/png")

    @app.get("/counties/{code}/timeline.svg", summary="Länets tidslinje som SVG")
    def county_timeline_svg(code: str = PathParam(..., max_length=60)):
        return timeline("svg", code)

    @app.get("/counties/{code}/timeline.png", summary="Länets tidslinje som PNG")
    def county_timeline_png(code: str = PathParam(..., max_length=60)):
        return timeline("png", code)


KINDS_SV = {"agreement": "Överenskommelse", "routine": "Rutin", "network": "Nätverk", "training": "Utbildning", "other": "Annat"}
STATES_SV = {"candidate": "kandidat", "verified": "verifierad", "rejected": "avvisad"}
