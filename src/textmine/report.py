"""The compiled report for the national coordinator: verified good examples (of a
collection, a county, a kind, or all), grouped by county, each with its mechanism and
its citation (document title, issuer, date, pages), written as HTML, PDF or DOCX ready
to send.

Only verified examples go in: a report is what a reviewer has stood behind. The HTML
is one self-contained file (styles inline, no scripts), the PDF is drawn with
reportlab and the DOCX with python-docx, all from the same Report object so the three
say the same thing."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import TextmineError
from .practice import KINDS_SV, GoodExample, list_examples, page_list
from .store import Store

NO_COUNTY = "Utan angivet län"


class ReportError(TextmineError):
    """A report that cannot be compiled or written."""


@dataclass
class CountyGroup:
    county: str | None
    county_name: str
    examples: list[GoodExample]


@dataclass
class Report:
    title: str
    subtitle: str
    generated: str
    groups: list[CountyGroup] = field(default_factory=list)

    @property
    def n_examples(self) -> int:
        return sum(len(g.examples) for g in self.groups)

    @property
    def sources(self) -> list[tuple[str, str]]:
        """(document title, issuer) of every cited document, once, in order."""
        seen: dict[str, str] = {}
        for g in self.groups:
            for e in g.examples:
                seen.setdefault(e.doc_title, e.doc_issuer or "")
        return list(seen.items())


def compile_report(store: Store, *, collection: str | None = None, county: str | None = None, kind: str | None = None,
                   title: str | None = None) -> Report:
    """The verified examples chosen, grouped by county (counties by name, examples by
    date, newest first)."""
    chosen = list_examples(store, state="verified", collection=collection, county=county, kind=kind)
    if not chosen:
        where = f" in the collection '{collection}'" if collection else ""
        raise ReportError(f"no verified examples{where} to report: verify examples first "
                          "(textmine examples review ID --state verified --reviewer NAME)")
    groups: dict[str | None, CountyGroup] = {}
    for e in chosen:
        g = groups.setdefault(e.county, CountyGroup(e.county, e.county_name or NO_COUNTY, []))
        g.examples.append(e)
    ordered = sorted(groups.values(), key=lambda g: (g.county is None, g.county_name))
    if collection is None:  # a collection keeps the order its editor chose
        for g in ordered:
            g.examples.sort(key=lambda e: (e.date or "", e.id), reverse=True)
    subtitle_parts = []
    if collection:
        subtitle_parts.append(f"Samling: {store.collection(collection)['name']}")
    if county:
        subtitle_parts.append(ordered[0].county_name)
    if kind:
        subtitle_parts.append(KINDS_SV.get(kind, kind))
    return Report(
        title=(title or "").strip()[:200] or "Goda exempel: samverkan mot aktiv medverkan till bosättning i annan kommun",
        subtitle=" · ".join(subtitle_parts) or "Verifierade exempel, ordnade per län",
        generated=dt.date.today().isoformat(),
        groups=ordered,
    )


def parties_text(e: GoodExample) -> str:
    names = [p["name"] for p in e.parties]
    if not names:
        return ""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]


def facts_line(e: GoodExample) -> str:
    """"Överenskommelse · Parter: Laxå och Örebro · 2022-03-15"."""
    parts = [KINDS_SV.get(e.kind, e.kind)]
    if e.parties:
        parts.append("Parter: " + parties_text(e))
    if e.date:
        parts.append(e.date)
    return " · ".join(parts)


def citation_text(e: GoodExample) -> str:
    pages = page_list(e.pages) if e.pages else ""
    who = f" ({e.doc_issuer})" if e.doc_issuer else ""
    return f"{e.doc_title}{who}" + (f", {pages}" if pages else "")


# --- writers ------------------------------------------------------------------------------


def render_html(report: Report) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    folder = resources.files("textmine.web") / "templates"
    env = Environment(loader=FileSystemLoader(str(folder)), autoescape=select_autoescape(["html"]))
    return env.get_template("report_document.html").render(
        report=report, facts_line=facts_line, citation_text=citation_text)


def render_pdf(report: Report) -> bytes:
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["BodyText"], fontName="Helvetica", fontSize=10, leading=13.5)
    small = ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, textColor=colors.HexColor("#444444"))
    h1 = ParagraphStyle("h1", parent=styles["Title"], fontName="Helvetica-Bold", fontSize=17, leading=21, alignment=0)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontName="Helvetica-Bold", fontSize=13.5, spaceBefore=12)
    h3 = ParagraphStyle("h3", parent=styles["Heading3"], fontName="Helvetica-Bold", fontSize=11, spaceBefore=8,
                        spaceAfter=2)
    esc = html.escape  # reportlab paragraphs take a small markup: text must be escaped

    def footer(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(2 * cm, 1.2 * cm, f"{report.title[:90]} · {report.generated}")
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Sida {doc.page}")
        canvas.restoreState()

    story = [Paragraph(esc(report.title), h1), Paragraph(esc(report.subtitle), small),
             Paragraph(f"Sammanställd {report.generated} med textmine · {report.n_examples} exempel i "
                       f"{len(report.groups)} län", small), Spacer(1, 10)]
    for g in report.groups:
        story.append(Paragraph(esc(g.county_name), h2))
        for e in g.examples:
            block = [Paragraph(esc(e.title), h3), Paragraph(esc(facts_line(e)), small)]
            if e.mechanism:
                block.append(Paragraph(esc(e.mechanism), body))
            block.append(Paragraph("Källa: " + esc(citation_text(e)), small))
            block.append(Spacer(1, 6))
            story.append(KeepTogether(block))
    story.append(Paragraph("Källor", h2))
    for doc_title, who in report.sources:
        story.append(Paragraph(esc(doc_title) + (f" – {esc(who)}" if who else ""), small))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm,
                            bottomMargin=2 * cm, title=report.title, author="textmine", lang="sv")
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()


def render_docx(report: Report) -> bytes:
    import io

    from docx import Document as DocxDocument
    from docx.shared import Pt, RGBColor

    d = DocxDocument()
    d.core_properties.title = report.title
    d.core_properties.author = "textmine"
    d.core_properties.language = "sv-SE"
    d.add_heading(report.title, level=0)
    meta = d.add_paragraph(f"{report.subtitle}\nSammanställd {report.generated} med textmine · {report.n_examples} "
                           f"exempel i {len(report.groups)} län")
    for run in meta.runs:
        run.font.size = Pt(9)
    for g in report.groups:
        d.add_heading(g.county_name, level=1)
        for e in g.examples:
            d.add_heading(e.title, level=2)
            facts = d.add_paragraph(facts_line(e))
            facts.runs[0].font.size = Pt(9)
            facts.runs[0].font.color.rgb = RGBColor(0x44, 0x44, 0x44)
            if e.mechanism:
                d.add_paragraph(e.mechanism)
            src = d.add_paragraph("Källa: " + citation_text(e))
            src.runs[0].font.size = Pt(9)
            src.runs[0].italic = True
    d.add_heading("Källor", level=1)
    for doc_title, who in report.sources:
        d.add_paragraph(doc_title + (f" – {who}" if who else ""), style="List Bullet")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


RENDERERS = {"html": lambda r: render_html(r).encode("utf-8"), "pdf": render_pdf, "docx": render_docx}
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def report_bytes(report: Report, fmt: str) -> bytes:
    if fmt not in RENDERERS:
        raise ReportError(f"unknown report format '{fmt}': use html, pdf or docx")
    return RENDERERS[fmt](report)


def write_report(report: Report, fmt: str, out: Path) -> int:
    """Write the report to `out` (through a temporary file, so a failed write leaves
    no half file); returns its size in bytes."""
    data = report_bytes(report, fmt)
    out = Path(out)
    if out.is_dir():
        raise ReportError(f"{out} is a folder: give a file name such as goda-exempel.{fmt}")
    if not out.parent.exists():
        raise ReportError(f"the folder {out.parent} does not exist")
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(f"cannot write {out}: {exc.strerror}") from exc
    return len(data)
