"""`textmine examples ...` and `textmine report`: the good-example catalogue on the
command line (list, show, build, review, collections) and the compiled report."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

# Defined before the import of .cli below (see cli_code.py for why).
examples_app = typer.Typer(help="The good-example catalogue: list, review and collect examples of good practice.",
                           no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})

from .cli import HomeOpt, JsonOpt, friendly_errors, open_store, print_json  # noqa: E402

StateOpt = typer.Option(None, "--state", help="candidate, verified or rejected.")
CountyOpt = typer.Option(None, "--county", help="County code (18) or name (Örebro län).")
KindOpt = typer.Option(None, "--kind", help="agreement, routine, network, training or other.")
CollectionOpt = typer.Option(None, "--collection", help="A collection's name or id.")


class ReviewState(str, Enum):
    candidate = "candidate"
    verified = "verified"
    rejected = "rejected"


class ReportFormat(str, Enum):
    html = "html"
    pdf = "pdf"
    docx = "docx"


def _print_example_line(e) -> None:
    who = ", ".join(p["name"] for p in e.parties[:4]) + (" …" if len(e.parties) > 4 else "")
    typer.echo(f"{e.id:>4}  {e.state:<9}  {e.kind:<9}  {e.county_name or '-':<22}  {e.date or '-':<10}  {e.title}")
    typer.echo(f"      {who or '-'}  [{e.citation}]")


@examples_app.command("list")
@friendly_errors
def list_cmd(state: Optional[str] = StateOpt, county: Optional[str] = CountyOpt, kind: Optional[str] = KindOpt,
             collection: Optional[str] = CollectionOpt, home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Catalogue records (id, state, kind, county, date, title, citation), by county."""
    from .practice import list_examples

    with open_store(home) as store:
        found = list_examples(store, state=state, county=county, kind=kind, collection=collection)
    if as_json:
        print_json([e.to_json() for e in found])
        return
    for e in found:
        _print_example_line(e)
    typer.echo(f"{len(found)} examples", err=True)


@examples_app.command("show")
@friendly_errors
def show_cmd(example_id: int = typer.Argument(..., help="The example's id."), home: Optional[Path] = HomeOpt,
             as_json: bool = JsonOpt):
    """One example with its source text and review history."""
    from .practice import get_example

    with open_store(home) as store:
        e = get_example(store, example_id)
        history = store.example_reviews(example_id)
    if as_json:
        print_json({**e.to_json(), "reviews": history})
        return
    _print_example_line(e)
    typer.echo(f"\nMekanism: {e.mechanism}")
    if e.note:
        typer.echo(f"Anteckning ({e.reviewer}): {e.note}")
    if e.collections:
        typer.echo(f"Samlingar: {', '.join(e.collections)}")
    typer.echo(f"\n{e.text}")


@examples_app.command("build")
@friendly_errors
def build_cmd(min_score: Optional[float] = typer.Option(None, "--min-score", help="Use passages whose good_practice score reaches this (0-1) instead of the label's threshold."),
              home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Bring the catalogue up to date with the good_practice passages (ingest does this too).
    Reviewed examples and reviewers' corrections are kept."""
    from .practice import PracticeError, build_catalogue

    if min_score is not None and not 0 <= min_score <= 1:
        raise PracticeError("--min-score is a score between 0 and 1")
    with open_store(home) as store:
        counts = build_catalogue(store, min_score=min_score)
    if as_json:
        print_json(counts)
    else:
        typer.echo(f"{counts['examples']} examples: {counts['added']} new, {counts['updated']} updated, "
                   f"{counts['dropped']} dropped")


@examples_app.command("review")
@friendly_errors
def review_cmd(example_id: int = typer.Argument(..., help="The example's id."),
               state: ReviewState = typer.Option(..., "--state", help="The decision."),
               reviewer: str = typer.Option(..., "--reviewer", help="Who reviews."),
               note: str = typer.Option("", "--note", help="Why (required when rejecting)."),
               title: Optional[str] = typer.Option(None, "--title", help="Correct the title."),
               kind: Optional[str] = KindOpt,
               county: Optional[str] = typer.Option(None, "--county", help="Correct the county (code or name)."),
               parties: Optional[str] = typer.Option(None, "--parties", help="Correct the parties: municipality names or SCB codes, comma-separated."),
               date: Optional[str] = typer.Option(None, "--date", help="Correct the date (2022-03-15, 2022-03 or 2022)."),
               mechanism: Optional[str] = typer.Option(None, "--mechanism", help="Correct the mechanism sentence."),
               home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Verify or reject an example (or send it back to candidate), with a note and corrections."""
    from .practice import review_example

    with open_store(home) as store:
        e = review_example(store, example_id, state=state.value, reviewer=reviewer, note=note, title=title, kind=kind,
                           county=county, parties=parties.split(",") if parties is not None else None, date=date,
                           mechanism=mechanism)
    if as_json:
        print_json(e.to_json())
    else:
        typer.echo(f"example {e.id} is {e.state}: {e.title}")


@examples_app.command("collections")
@friendly_errors
def collections_cmd(home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """The collections with their number of examples (and of verified ones)."""
    with open_store(home) as store:
        rows = store.collections()
    if as_json:
        print_json(rows)
        return
    for c in rows:
        typer.echo(f"{c['id']:>4}  {c['name']}  ({c['n_examples']} examples, {c['n_verified']} verified)  {c['description']}")


@examples_app.command("collect")
@friendly_errors
def collect_cmd(collection: str = typer.Argument(..., help="The collection's name (or id)."),
                example_ids: List[int] = typer.Argument(None, help="Example ids to add (or remove)."),
                create: bool = typer.Option(False, "--create", help="Create the collection first."),
                description: str = typer.Option("", "--description", help="With --create: what the collection is for."),
                remove: bool = typer.Option(False, "--remove", help="Remove the ids from the collection instead."),
                home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Create a collection and add (or remove) examples."""
    from .practice import add_to_collection, create_collection, remove_from_collection

    with open_store(home) as store:
        if create:
            create_collection(store, collection, description)
        ids = list(example_ids or [])
        changed = remove_from_collection(store, collection, ids) if remove else add_to_collection(store, collection, ids)
        coll = store.collection(collection)
        size = len(store.examples(collection=coll["id"]))
    if as_json:
        print_json({"collection": coll, "changed": changed, "size": size})
    else:
        typer.echo(f"{coll['name']}: {changed} {'removed' if remove else 'added'}, {size} examples")


@friendly_errors
def report_cmd(out: Path = typer.Option(..., "--out", help="The file to write."),
               fmt: Optional[ReportFormat] = typer.Option(None, "--format", help="html, pdf or docx (default: from --out's suffix)."),
               collection: Optional[str] = CollectionOpt,
               county: Optional[str] = CountyOpt,
               kind: Optional[str] = KindOpt,
               title: Optional[str] = typer.Option(None, "--title", help="The report's title."),
               home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Compile verified good examples (of a collection, or all) into a report grouped by
    county, with citations (document title, page), as HTML, PDF or DOCX."""
    from .report import ReportError, compile_report, write_report

    fmt_value = fmt.value if fmt else out.suffix.lstrip(".").lower()
    if fmt_value not in ("html", "pdf", "docx"):
        raise ReportError(f"say --format html, pdf or docx (the suffix '{out.suffix}' does not tell)")
    with open_store(home) as store:
        report = compile_report(store, collection=collection, county=county, kind=kind, title=title)
    size = write_report(report, fmt_value, out)
    summary = {"out": str(out), "format": fmt_value, "bytes": size, "examples": report.n_examples,
               "counties": [g.county_name for g in report.groups]}
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"wrote {out} ({fmt_value}, {report.n_examples} examples in {len(report.groups)} counties)")
