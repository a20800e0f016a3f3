"""What the web pages show, apart from the routes: Swedish names for types and labels,
search parameters read from a URL, marked-up text segments, snippets, ready searches and
the CSV of a result list. Nothing here trusts document text: text is cut into segments
and the templates escape every segment (Jinja2 autoescape), so a highlight can never
turn document text into markup."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, fields
from urllib.parse import quote, urlencode

from .search import MAX_QUERY_CHARS, MODES, Filters, QueryError

PER_PAGE = 10
MAX_PAGE = 50  # 10 hits a page over at most 200 fused candidates, with room to spare
CSV_MAX_HITS = 200

DOC_TYPES = {  # singular, plural
    "court_ruling": ("Dom/beslut", "Domar och beslut"),
    "county_report": ("Länsstyrelserapport", "Länsstyrelserapporter"),
    "municipal_review": ("Kommunal granskning", "Kommunala granskningar"),
    "agreement": ("Överenskommelse", "Överenskommelser och rutiner"),
    "government_decision": ("Regeringsbeslut", "Regeringsbeslut"),
    "agency_report": ("Myndighetsrapport", "Myndighetsrapporter"),
    "press_release": ("Pressmeddelande", "Pressmeddelanden"),
    "other": ("Övrigt", "Övrigt"),
}

LABELS = {  # singular, plural
    "KOMMUN": ("Kommun", "Kommuner"),
    "LAN": ("Län", "Län"),
    "COURT": ("Domstol", "Domstolar"),
    "AGENCY": ("Myndighet", "Myndigheter"),
    "LAW": ("Lag", "Lagar"),
    "PROVISION": ("Lagrum", "Lagrum"),
    "CASE_REF": ("Rättsfall", "Rättsfall"),
    "TARGET_GROUP": ("Målgrupp", "Målgrupper"),
    "DATE": ("Datum", "Datum"),
    "MONEY": ("Belopp", "Belopp"),
    "PERCENT": ("Andel", "Andelar"),
    "DNR": ("Diarienummer", "Diarienummer"),
    "PERSONNUMMER": ("Personnummer", "Personnummer"),
    "ORG": ("Organisation", "Organisationer"),
}

# Entity pages are offered for these labels; dates, amounts, percentages, diary numbers
# and personal identity numbers are shown in the text but get no page of their own.
BROWSABLE_LABELS = ("KOMMUN", "LAN", "COURT", "AGENCY", "LAW", "PROVISION", "CASE_REF", "TARGET_GROUP", "ORG")

MODE_NAMES = {"hybrid": "Kombinerad", "semantic": "Betydelse", "keyword": "Nyckelord"}

BLOCK_KINDS = {"heading": "Rubrik", "paragraph": "Stycke", "list_item": "Punkt", "quote": "Citat",
               "table": "Tabell", "footnote": "Fotnot", "header": "Sidhuvud", "footer": "Sidfot"}

# The two ready searches of the start page. Query and filters only for now: the
# passage labels of the case finder will sit behind them.
READY_SEARCHES = [
    {
        "key": "aktiv-medverkan",
        "title": "Fall av aktiv medverkan",
        "description": "Avsnitt som beskriver hur en kommun fått en person att flytta till en annan kommun: "
                       "krav på att söka bostad på annan ort, betald hyra eller flytt, förmedlad lägenhet.",
        # phrased as a case is told (what the committee did), not as the phenomenon is
        # named: the latter finds reports about social dumping rather than cases of it
        "params": {"q": "socialnämnden förmedlade en lägenhet i en annan kommun, betalade hyra eller flytt, "
                        "eller krävde att personen sökte bostad på annan ort", "label": "dumping_case"},
    },
    {
        "key": "goda-exempel",
        "title": "Goda exempel och överenskommelser",
        "description": "Överenskommelser mellan kommuner, rutiner för att informera den mottagande kommunen, "
                       "samtycke till att häva sekretess och länsgemensamma nätverk.",
        "params": {"q": "överenskommelse mellan kommuner och rutin för att informera den mottagande kommunen vid flytt",
                   "label": "good_practice"},
    },
]


def type_name(doc_type: str | None, plural: bool = False) -> str:
    names = DOC_TYPES.get(doc_type or "other", (doc_type or "Övrigt", doc_type or "Övrigt"))
    return names[1] if plural else names[0]


def label_name(label: str, plural: bool = False) -> str:
    names = LABELS.get(label, (label, label))
    return names[1] if plural else names[0]


@dataclass
class SearchParams:
    """The whole state of a search page, as it stands in the URL."""

    q: str = ""
    mode: str = "hybrid"
    type: str = ""
    county: str = ""
    municipality: str = ""
    court: str = ""
    year_from: str = ""
    year_to: str = ""
    entity: str = ""
    label: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, raw: dict[str, str | None]) -> "SearchParams":
        """Read and check URL parameters; empty fields (as a form sends them) mean unset.
        Raises QueryError with a message for the user."""
        values = {f.name: (raw.get(f.name) or "").strip() for f in fields(cls)}
        if "\x00" in "".join(values.values()):
            raise QueryError("parametrarna får inte innehålla NUL-tecken")
        if len(values["q"]) > MAX_QUERY_CHARS:
            values["q"] = values["q"][:MAX_QUERY_CHARS]  # search.clean_query caps it the same way
        mode = values["mode"] or "hybrid"
        if mode not in MODES:
            raise QueryError(f"okänt sökläge '{mode[:40]}': använd hybrid, semantic eller keyword")
        if values["label"]:
            from .labels import LABELS

            if values["label"] not in LABELS:
                raise QueryError(f"okänd etikett '{values['label'][:40]}': använd {', '.join(LABELS)}")
        if values["type"] and values["type"] not in DOC_TYPES:
            raise QueryError(f"okänd dokumenttyp '{values['type'][:40]}': använd {', '.join(DOC_TYPES)}")
        for name in ("year_from", "year_to"):
            if values[name] and not (values[name].isdigit() and 1900 <= int(values[name]) <= 2100):
                raise QueryError(f"{name} måste vara ett årtal mellan 1900 och 2100, inte '{values[name][:40]}'")
        if values["year_from"] and values["year_to"] and int(values["year_from"]) > int(values["year_to"]):
            raise QueryError("year_from är senare än year_to")
        page = values["page"] or "1"
        if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
            raise QueryError(f"page måste vara ett tal mellan 1 och {MAX_PAGE}")
        for name in ("county", "municipality", "court", "entity", "type"):
            if len(values[name]) > 200:
                raise QueryError(f"{name} är för långt (högst 200 tecken)")
        values["mode"] = mode
        values["page"] = int(page)
        params = cls(**values)
        params.check_places()
        return params

    def check_places(self) -> None:
        """An unknown county or municipality is an error now, in Swedish, not mid-search."""
        from .nlp.gazetteer import load_gazetteer
        from .search import resolve_county, resolve_municipality

        gaz = load_gazetteer()
        if self.county:
            try:
                resolve_county(self.county, gaz)
            except QueryError:
                raise QueryError(f"okänt län '{self.county[:60]}': ange ett namn (Örebro län, Dalarna) eller en länskod (18)") from None
        if self.municipality:
            try:
                resolve_municipality(self.municipality, gaz)
            except QueryError:
                raise QueryError(f"okänd kommun '{self.municipality[:60]}': ange ett namn (Hällefors) eller en SCB-kod (1863)") from None

    def filters(self) -> Filters:
        return Filters(
            doc_type=self.type or None, county=self.county or None, municipality=self.municipality or None,
            court=self.court or None, year_from=int(self.year_from) if self.year_from else None,
            year_to=int(self.year_to) if self.year_to else None, entity=self.entity or None, label=self.label or None,
        )

    def active_filters(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in asdict(self).items() if k in FILTER_FIELDS and v]

    def is_empty(self) -> bool:
        return not self.q and not self.active_filters()

    def url(self, path: str = "/", **changes) -> str:
        """This search with some parameters changed (None or "" removes one); the page
        goes back to 1 unless it is changed too."""
        state = asdict(self)
        if "page" not in changes:
            state["page"] = 1
        state.update(changes)
        query = {k: v for k, v in state.items() if v not in (None, "") and not (k == "page" and v == 1)
                 and not (k == "mode" and v == "hybrid")}
        return path + ("?" + urlencode(query) if query else "")


FILTER_FIELDS = ("type", "county", "municipality", "court", "year_from", "year_to", "entity", "label")


def mark_segments(text: str, ranges) -> list[tuple[str, str, str | None]]:
    """Cut text into (piece, css classes, link) at every range boundary. A range is
    (start, end, cls) or (start, end, cls, href). Ranges may overlap (a query term inside
    an entity inside the hit passage): a piece carries the classes of all ranges covering
    it and the link of the first one that has one. Pieces are plain text: the template
    escapes them."""
    n = len(text)
    cuts = {0, n}
    clean = []
    for r in ranges:
        start, end, cls = max(0, min(n, r[0])), max(0, min(n, r[1])), r[2]
        if end > start:
            clean.append((start, end, cls, r[3] if len(r) > 3 else None))
            cuts.update((start, end))
    points = sorted(cuts)
    out: list[tuple[str, str, str | None]] = []
    for a, b in zip(points, points[1:]):
        covering = [r for r in clean if r[0] <= a and r[1] >= b]
        classes = " ".join(sorted({r[2] for r in covering}))
        href = next((r[3] for r in covering if r[3]), None)
        if out and out[-1][1] == classes and out[-1][2] == href:
            out[-1] = (out[-1][0] + text[a:b], classes, href)
        else:
            out.append((text[a:b], classes, href))
    return out


def snippet(text: str, highlights, width: int = 360) -> list[tuple[str, str, str | None]]:
    """A window of about `width` characters around the first highlighted range (the
    start of the passage when none), cut at word boundaries, with the ranges marked."""
    highlights = sorted(highlights)
    if len(text) <= width:
        start, end = 0, len(text)
    else:
        first = highlights[0][0] if highlights else 0
        start = max(0, first - width // 3)
        end = min(len(text), start + width)
        start = max(0, end - width)
        if start > 0:  # begin at a word, but never after the first term
            space = text.find(" ", start, first if highlights else end)
            start = space + 1 if space >= 0 else start
        if end < len(text):
            space = text.rfind(" ", start, end)
            end = space if space > start else end
    piece = text[start:end]
    ranges = [(h[0] - start, h[1] - start, h[2] if len(h) > 2 else "term") for h in highlights
              if h[0] >= start and h[1] <= end]
    segments = mark_segments(piece, ranges)
    if start > 0:
        segments.insert(0, ("… ", "", None))
    if end < len(text):
        segments.append((" …", "", None))
    return segments


def entity_href(label: str, norm: str) -> str | None:
    if label not in BROWSABLE_LABELS:
        return None
    return f"/entities/{label}/{quote(norm, safe='')}"


def passage_ranges(spans: list, mentions: list[tuple[int, int, int, int]], cls: str = "term") -> list[tuple[int, int, str]]:
    """Block-level mentions (page, block, start, end) as ranges in a passage's text,
    which is its block pieces (spans) joined by newlines."""
    ranges = []
    offset = 0
    for page, block, start, end in spans:
        for mp, mb, ms, me in mentions:
            if (mp, mb) == (page, block) and ms >= start and me <= end:
                ranges.append((offset + ms - start, offset + me - start, cls))
        offset += end - start + 1
    return ranges


@dataclass
class BlockView:
    id: str
    kind: str
    level: int | None
    number: str | None
    segments: list
    rows: list | None
    in_hit: bool
    first_hit: bool


@dataclass
class PageView:
    number: int
    ocr: bool
    blocks: list[BlockView]
    has_hit: bool


def document_view(doc, hit: dict | None, terms: list[str]) -> dict:
    """The document page: pages of blocks cut into segments (entities linked, the hit
    passage and query terms marked) and a table of contents from the headings."""
    from .index import lexical

    hit_spans: dict[tuple[int, int], list[tuple[int, int]]] = {}
    if hit:
        for page, block, start, end in json.loads(hit["spans"] or "[]"):
            hit_spans.setdefault((page, block), []).append((start, end))
    mentions: dict[tuple[int, int], list] = {}
    for e in doc.entities or []:
        mentions.setdefault((e.page, e.block), []).append(e)
    pages, toc = [], []
    first_done = False
    for page in doc.pages:
        blocks = []
        for i, b in enumerate(page.blocks):
            if b.kind in ("header", "footer"):
                continue  # running heads and page numbers: on the page image, not in the text
            ranges: list = []
            for e in mentions.get((page.number, i), []):
                title_cls = f"ent ent-{e.label}"
                ranges.append((e.start, e.end, title_cls, entity_href(e.label, e.norm)))
            spans = hit_spans.get((page.number, i), [])
            ranges += [(s, e, "hit") for s, e in spans]
            ranges += [(s, e, "term") for s, e in lexical.highlight_spans(b.text, terms)] if terms else []
            block_id = f"b{page.number}-{i}"
            first = bool(spans) and not first_done
            first_done = first_done or first
            blocks.append(BlockView(block_id, b.kind, b.level, b.number, mark_segments(b.text, ranges), b.rows,
                                    bool(spans), first))
            if b.kind == "heading":
                toc.append({"id": block_id, "page": page.number, "level": b.level or 1,
                            "text": " ".join(filter(None, [b.number, b.text])) if b.number and not b.text.startswith(b.number) else b.text})
        pages.append(PageView(page.number, page.ocr, blocks, any(bl.in_hit for bl in blocks)))
    return {"pages": pages, "toc": toc}


def first_passage_on(passages: list[dict], page: int) -> dict | None:
    for p in passages:
        if p["page_start"] <= page <= p["page_end"] and p["kind"] != "footnotes":
            return p
    return passages[0] if passages else None


def document_entities(doc) -> list[dict]:
    """The document's entities worth a page of their own, grouped by label, most
    mentioned first."""
    from .nlp.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    counts = Counter((e.label, e.norm) for e in doc.entities or [] if e.label in BROWSABLE_LABELS)
    groups: dict[str, list[dict]] = {}
    for (label, norm), n in counts.most_common():
        groups.setdefault(label, []).append({"label": label, "norm": norm, "count": n,
                                             "name": gaz.display_name(label, norm) or norm,
                                             "href": entity_href(label, norm)})
    return [{"label": lab, "items": groups[lab]} for lab in BROWSABLE_LABELS if lab in groups]


def hits_csv(hits: list[dict], base_url: str, sep: str = ";") -> str:
    """A result list as CSV: one row per hit with document, page, link and the text.
    Semicolon by default, which is what Excel with Swedish settings expects; a BOM
    so that Excel reads UTF-8."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=sep, lineterminator="\r\n")
    writer.writerow(["rank", "title", "doc_type", "date", "issuer", "page", "page_end", "heading", "passage_id",
                     "score", "url", "path", "text"])
    for rank, h in enumerate(hits, 1):
        url = f"{base_url}/documents/{h['doc_id']}?page={h['page']}&passage={h['passage_id']}#passage"
        writer.writerow([rank, _csv_safe(h["title"] or ""), h["doc_type"], h["date"] or "", _csv_safe(h["issuer"] or ""),
                         h["page"], h["page_end"], _csv_safe(" > ".join(h["heading_path"])), h["passage_id"], h["score"],
                         url, h["path"], _csv_safe(" ".join(h["text"].split()))])
    return buf.getvalue()


def csv_safe_row(row: list) -> list:
    return [_csv_safe(v) if isinstance(v, str) else v for v in row]


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: a quote mark first keeps
    document text from doing that."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


FACETS = [  # (facet in the search result, URL parameter, heading)
    ("doc_type", "type", "Dokumenttyp"),
    ("county", "county", "Län"),
    ("municipality", "municipality", "Kommun"),
    ("court", "court", "Domstol"),
    ("year", "year", "År"),
    ("entity", "entity", "Lagrum, lagar, målgrupper"),
]
FACET_SHOWN = 8


def facet_groups(params: SearchParams, facets: dict) -> list[dict]:
    """Facet values as links that add (or, when active, remove) a filter."""
    groups = []
    for key, param, title in FACETS:
        items = []
        for f in facets.get(key, []):
            value = f["value"]
            if key == "doc_type":
                label = type_name(value)
            elif key == "entity":
                label = f"{f.get('name') or value}"
            else:
                label = f.get("name") or value
            if param == "year":
                active = params.year_from == value and params.year_to == value
                url = params.url(year_from="", year_to="") if active else params.url(year_from=value, year_to=value)
            else:
                current = getattr(params, param)
                active = current == value or (param in ("county", "municipality") and current.lower() == label.lower())
                url = params.url(**{param: "" if active else value})
            items.append({"label": label, "count": f["count"], "url": url, "active": active,
                          "kind": f.get("label")})
        if param == "year":
            items.sort(key=lambda i: i["label"], reverse=True)
        if items:
            groups.append({"key": key, "title": title, "items": items, "shown": FACET_SHOWN})
    return groups


def active_filter_chips(params: SearchParams) -> list[dict]:
    """The filters in force, each with a link that removes it."""
    from .nlp.gazetteer import load_gazetteer

    gaz = load_gazetteer()
    chips = []
    names = {"type": "Typ", "county": "Län", "municipality": "Kommun", "court": "Domstol", "year_from": "Från år",
             "year_to": "Till år", "entity": "Nämner", "label": "Etikett"}
    for key, value in params.active_filters():
        shown = value
        if key == "type":
            shown = type_name(value)
        elif key == "label":
            from .labels import LABELS_SV

            shown = LABELS_SV.get(value, value)
        elif key == "county" and value.isdigit() and value.zfill(2) in gaz.counties:
            shown = gaz.counties[value.zfill(2)].name
        elif key == "municipality" and value.isdigit():
            shown = gaz.municipality_name(value.zfill(4)) or value
        elif key == "entity":
            label = next((lab for lab in ("PROVISION", "LAW") if gaz.display_name(lab, value)), None)
            shown = gaz.display_name(label, value) if label else value
        chips.append({"name": names[key], "value": shown, "remove": params.url(**{key: ""})})
    return chips


def page_links(current: int, last: int, url_for) -> list[dict]:
    """Pager entries: previous, the first and last page, pages near the current one,
    gaps, next. Empty when everything fits on one page."""
    if last <= 1:
        return []
    out = []
    if current > 1:
        out.append({"text": "← Föregående", "url": url_for(current - 1), "rel": "prev"})
    gap = False
    for n in range(1, last + 1):
        if n in (1, last) or abs(n - current) <= 2:
            out.append({"text": str(n), "url": url_for(n), "current": n == current})
            gap = False
        elif not gap:
            out.append({"text": "…", "gap": True})
            gap = True
    if current < last:
        out.append({"text": "Nästa →", "url": url_for(current + 1), "rel": "next"})
    return out
