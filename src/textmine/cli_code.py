"""`textmine code ...`: the coding workbench on the command line (codebook, coders,
coding, undo, suggestions, agreement, frequencies, charts, quotes, import and export)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from .errors import TextmineError

# Defined before the import of .cli below: `python -m textmine.cli` runs cli.py as
# __main__, which imports this module, which imports textmine.cli afresh, which imports
# this (then half-loaded) module again and needs code_app to exist already.
code_app = typer.Typer(help="Code passages with themes: codebook, coding, suggestions, agreement, export.",
                       no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})

from .cli import HomeOpt, JsonOpt, friendly_errors, open_store, print_json  # noqa: E402

CoderOpt = typer.Option(..., "--coder", help="The coder's name (created on first use).")


class ExportFormat(str, Enum):
    qdpx = "qdpx"
    csv = "csv"
    xlsx = "xlsx"
    qdc = "qdc"
    codebook_csv = "codebook-csv"


class Dimension(str, Enum):
    doc_type = "doc_type"
    county = "county"
    municipality_group = "municipality_group"
    respondent_size = "respondent_size"
    respondent_role = "respondent_role"
    respondent = "respondent"


def _print_tree(codes, indent: int = 0) -> None:
    for c in codes:
        count = f" ({c.n_codings})" if c.n_codings else ""
        typer.echo(f"{'  ' * indent}- {c.name}{count}: {c.description.splitlines()[0] if c.description else ''}")
        _print_tree(c.children, indent + 1)


@code_app.command("codebook")
@friendly_errors
def codebook_cmd(home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """The codebook as a tree: name, description, inclusion/exclusion notes, examples, counts."""
    from .coding import codebook

    with open_store(home) as store:
        tree = codebook(store)
    if as_json:
        print_json([c.to_json() for c in tree])
    else:
        _print_tree(tree)


@code_app.command("add")
@friendly_errors
def add_cmd(
    name: str = typer.Argument(..., help="The new code's name (unique)."),
    home: Optional[Path] = HomeOpt,
    parent: Optional[str] = typer.Option(None, "--parent", help="Parent code."),
    description: str = typer.Option("", "--description", help="What the code covers."),
    inclusion: str = typer.Option("", "--inclusion", help="When to apply it."),
    exclusion: str = typer.Option("", "--exclusion", help="When not to apply it."),
    example: List[str] = typer.Option([], "--example", help="An example (repeatable)."),
    color: Optional[str] = typer.Option(None, "--color", help="#RRGGBB."),
    as_json: bool = JsonOpt,
):
    """Add a code to the codebook."""
    from .coding import add_code

    with open_store(home) as store:
        code_id = add_code(store, name, parent=parent, description=description, inclusion=inclusion,
                           exclusion=exclusion, examples="\n".join(example), color=color)
        row = store.code(code_id)
    if as_json:
        print_json(row)
    else:
        typer.echo(f"added code {row['name']} (id {row['id']})")


@code_app.command("edit")
@friendly_errors
def edit_cmd(
    name: str = typer.Argument(..., help="The code to change."),
    home: Optional[Path] = HomeOpt,
    rename: Optional[str] = typer.Option(None, "--rename", help="New name."),
    parent: Optional[str] = typer.Option(None, "--parent", help="New parent ('' for top level)."),
    description: Optional[str] = typer.Option(None, "--description"),
    inclusion: Optional[str] = typer.Option(None, "--inclusion"),
    exclusion: Optional[str] = typer.Option(None, "--exclusion"),
    example: Optional[List[str]] = typer.Option(None, "--example", help="Replaces the examples (repeatable)."),
    color: Optional[str] = typer.Option(None, "--color"),
):
    """Change a code: rename, move, or edit its notes."""
    from .coding import update_code

    with open_store(home) as store:
        update_code(store, name, parent=parent, name=rename, description=description, inclusion=inclusion,
                    exclusion=exclusion, examples="\n".join(example) if example else None, color=color)
    typer.echo(f"changed code {rename or name}")


@code_app.command("delete")
@friendly_errors
def delete_cmd(name: str = typer.Argument(...), home: Optional[Path] = HomeOpt,
               force: bool = typer.Option(False, "--force", help="Delete even when the code has codings.")):
    """Delete a code (its children move up one level)."""
    with open_store(home) as store:
        code = store.code(name)
        n = store.coding_counts().get(code["id"], 0)
        if n and not force:
            raise TextmineError(f"'{code['name']}' has {n} codings: pass --force to delete them with the code")
        store.delete_code(code["id"])
    typer.echo(f"deleted code {code['name']}")


@code_app.command("coder")
@friendly_errors
def coder_cmd(name: str = typer.Argument(..., help="The coder's name."), home: Optional[Path] = HomeOpt,
              password_stdin: bool = typer.Option(False, "--password-stdin", help="Read a password for the web login from stdin."),
              as_json: bool = JsonOpt):
    """Add a coder, or set a coder's password for the web UI."""
    from .coding import add_coder

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with open_store(home) as store:
        c = add_coder(store, name, password)
    out = {"id": c["id"], "name": c["name"], "has_password": bool(c["password"])}
    if as_json:
        print_json(out)
    else:
        typer.echo(f"coder {c['name']}" + (" (password set)" if password_stdin else ""))


@code_app.command("coders")
@friendly_errors
def coders_cmd(home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """List the coders."""
    with open_store(home) as store:
        rows = [{"id": r["id"], "name": r["name"], "has_password": bool(r["has_password"])} for r in store.coders()]
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            typer.echo(f"{r['id']:>3} {r['name']}" + (" (login)" if r["has_password"] else ""))


@code_app.command("assign")
@friendly_errors
def assign_cmd(
    passage: str = typer.Option(..., "--passage", help="Passage id (from search results)."),
    code: str = typer.Option(..., "--code", help="Code name."),
    coder: str = CoderOpt,
    start: Optional[int] = typer.Option(None, "--start", help="Span start (character offset in the passage text)."),
    end: Optional[int] = typer.Option(None, "--end", help="Span end (exclusive)."),
    home: Optional[Path] = HomeOpt,
    as_json: bool = JsonOpt,
):
    """Code a passage, or an exact span of it, with a code."""
    from .coding import assign, coding_json

    with open_store(home) as store:
        ids = assign(store, coder, code, passage, start, end)
        rows = [coding_json(r) for r in store.codings(passage_ids=[passage]) if r["id"] in ids]
    if as_json:
        print_json({"added": rows})
    else:
        typer.echo(f"coded {passage} with {code}" if ids else f"{passage} already has that coding")


@code_app.command("bulk")
@friendly_errors
def bulk_cmd(
    code: str = typer.Option(..., "--code", help="Code name."),
    coder: str = CoderOpt,
    query: Optional[str] = typer.Option(None, "--query", help="Code the hits of this search."),
    k: int = typer.Option(10, "--k", "-k", help="Number of search hits to code."),
    passage: List[str] = typer.Option([], "--passage", help="Passage ids (repeatable) instead of a query."),
    home: Optional[Path] = HomeOpt,
    as_json: bool = JsonOpt,
):
    """Code many passages at once: the top hits of a search, or the passages given (one undo step)."""
    from .coding import assign_bulk
    from .search import Searcher

    with open_store(home) as store:
        ids = list(passage)
        if query:
            ids += [h.passage_id for h in Searcher(store).search(query, k=k).hits]
        added = assign_bulk(store, coder, code, ids)
    if as_json:
        print_json({"passages": ids, "added": added})
    else:
        typer.echo(f"coded {len(added)} of {len(ids)} passages with {code} (undo with `textmine code undo --coder {coder}`)")


@code_app.command("remove")
@friendly_errors
def remove_cmd(coding: List[int] = typer.Option(..., "--coding", help="Coding id (repeatable)."), coder: str = CoderOpt,
               home: Optional[Path] = HomeOpt):
    """Remove codings (the coder's own)."""
    from .coding import remove

    with open_store(home) as store:
        done = remove(store, coder, list(coding))
    typer.echo(f"removed {len(done)} codings")


@code_app.command("undo")
@friendly_errors
def undo_cmd(coder: str = CoderOpt, home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Undo the coder's last coding action (an assignment, bulk coding or removal)."""
    from .coding import undo

    with open_store(home) as store:
        done = undo(store, coder)
    if as_json:
        print_json(done)
    else:
        typer.echo(f"undid {done['kind']} of {len(done['codings'])} codings")


@code_app.command("list")
@friendly_errors
def list_cmd(home: Optional[Path] = HomeOpt, coder: Optional[str] = typer.Option(None, "--coder"),
             code: Optional[str] = typer.Option(None, "--code", help="A code (and the codes below it)."),
             passage: Optional[str] = typer.Option(None, "--passage"), as_json: bool = JsonOpt):
    """List codings with document, page, coder, code and text."""
    from .coding import coding_json, codings

    with open_store(home) as store:
        rows = [coding_json(r) for r in codings(store, coder_name=coder, code_name=code, passage_id=passage)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        span = f" [{r['start']}:{r['end']}]" if r["start"] is not None else ""
        typer.echo(f"{r['id']:>4} {r['coder']:<12} {r['code']:<34} {r['passage_id']}{span} s. {r['page']} {r['title'] or ''}")
        typer.echo(f"     {' '.join(r['text'].split())[:140]}")


@code_app.command("suggest")
@friendly_errors
def suggest_cmd(
    home: Optional[Path] = HomeOpt,
    code: Optional[str] = typer.Option(None, "--code", help="Rank uncoded passages for this code."),
    passage: Optional[str] = typer.Option(None, "--passage", help="Rank codes for this passage."),
    coder: Optional[str] = typer.Option(None, "--coder", help="Leave out what this coder coded or rejected."),
    k: int = typer.Option(10, "--k", "-k"),
    as_json: bool = JsonOpt,
):
    """Suggestions: passages for a code (by its description and coded examples), or codes for a passage."""
    from .coding import suggest_for_code, suggest_for_passage
    from .search import Searcher

    if bool(code) == bool(passage):
        raise TextmineError("give --code (passages for a code) or --passage (codes for a passage)")
    with open_store(home) as store:
        s = Searcher(store)
        if code:
            out = suggest_for_code(store, s.embedder, s.index, code, coder_name=coder, k=k)
        else:
            out = suggest_for_passage(store, s.embedder, s.index, passage, coder_name=coder, k=k)
    if as_json:
        print_json([x.to_json() for x in out])
        return
    for x in out:
        typer.echo(f"{x.score:.3f}  {x.code:<34} {x.passage_id}  s. {x.page} {x.title or ''}")
        if code:
            typer.echo(f"       {' '.join(x.text.split())[:140]}")


class Decision(str, Enum):
    accept = "accept"
    reject = "reject"


@code_app.command("decide")
@friendly_errors
def decide_cmd(decision: Decision = typer.Argument(..., help="accept (codes the passage) or reject (not suggested again)."),
               code: str = typer.Option(..., "--code"), passage: str = typer.Option(..., "--passage"),
               coder: str = CoderOpt, home: Optional[Path] = HomeOpt):
    """Accept or reject a suggestion."""
    from .coding import decide

    with open_store(home) as store:
        decide(store, coder, code, passage, decision.value)
    typer.echo(f"{decision.value}ed {code} for {passage}")


@code_app.command("memo")
@friendly_errors
def memo_cmd(
    on: str = typer.Option(..., "--on", help="code, passage or document."),
    target: str = typer.Option(..., "--target", help="The code name, passage id or document id."),
    text: Optional[str] = typer.Option(None, "--text", help="The memo (else read from stdin)."),
    coder: Optional[str] = typer.Option(None, "--coder"),
    home: Optional[Path] = HomeOpt,
):
    """Write a memo on a code, a passage or a document."""
    from .coding import add_memo

    body = text if text is not None else sys.stdin.read()
    with open_store(home) as store:
        add_memo(store, on, target, body, coder)
    typer.echo(f"memo added on {on} {target}")


@code_app.command("memos")
@friendly_errors
def memos_cmd(home: Optional[Path] = HomeOpt, on: Optional[str] = typer.Option(None, "--on"), as_json: bool = JsonOpt):
    """List memos."""
    with open_store(home) as store:
        rows = store.memos(on)
    if as_json:
        print_json(rows)
        return
    for m in rows:
        typer.echo(f"[{m['target_kind']} {m['target']}] {m['coder_name'] or ''}: {m['text']}")


def _two_coders(store, coders: list[str]) -> tuple[str, str]:
    if coders:
        if len(coders) != 2:
            raise TextmineError("give two coders: --coders A --coders B")
        return coders[0], coders[1]
    active = sorted({r["coder_name"] for r in store.codings()})
    if len(active) != 2:
        raise TextmineError(f"{len(active)} coders have codings ({', '.join(active) or 'none'}): name two with --coders A --coders B")
    return active[0], active[1]


@code_app.command("agreement")
@friendly_errors
def agreement_cmd(home: Optional[Path] = HomeOpt,
                  coders: List[str] = typer.Option([], "--coders", help="Two coders (default: the two who coded)."),
                  as_json: bool = JsonOpt):
    """Inter-coder agreement per code (percent, Cohen's kappa, Krippendorff's alpha) and the disagreements."""
    from .analysis import agreement

    with open_store(home) as store:
        a, b = _two_coders(store, list(coders))
        report = agreement(store, a, b)
    if as_json:
        print_json(report.to_json())
        return
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    typer.echo(f"{report.coder_a} vs {report.coder_b}: {len(report.units)} passages coded by both;"
               f" overall alpha {fmt(report.overall_alpha)}")
    typer.echo(f"{'code':<40} {'both':>4} {'A':>3} {'B':>3} {'%':>6} {'kappa':>6} {'alpha':>6}")
    for c in report.codes:
        a_ = c.agreement
        typer.echo(f"{c.code[:40]:<40} {c.both:>4} {len(c.only_a):>3} {len(c.only_b):>3} "
                   f"{fmt(a_.percent):>6} {fmt(a_.kappa):>6} {fmt(a_.alpha):>6}")
    if report.disagreements:
        typer.echo(f"\n{len(report.disagreements)} disagreements to resolve:")
        for d in report.disagreements:
            typer.echo(f"  {d['passage_id']} s. {d['page']}: {d['code']} applied by {d['applied_by']}, not by {d['missing_for']}")


def _chart(table, chart: Optional[Path], kind: str) -> None:
    if chart is None:
        return
    from . import charts

    fmt = chart.suffix.lower().lstrip(".")
    if fmt not in charts.FORMATS:
        raise TextmineError(f"a chart is written as .svg or .png, not '{chart.name}'")
    data = charts.bar_chart(table, fmt) if kind == "bar" else charts.heat_map(table, fmt)
    chart.write_bytes(data)
    typer.echo(f"chart written to {chart}", err=True)


@code_app.command("stats")
@friendly_errors
def stats_cmd(home: Optional[Path] = HomeOpt,
              by: Dimension = typer.Option(Dimension.doc_type, "--by", help="Dimension to split code frequencies by."),
              coder: Optional[str] = typer.Option(None, "--coder", help="Only this coder's codings."),
              chart: Optional[Path] = typer.Option(None, "--chart", help="Also write a bar chart (.svg or .png)."),
              heat: Optional[Path] = typer.Option(None, "--heat-map", help="Also write a heat map (.svg or .png)."),
              as_json: bool = JsonOpt):
    """Code frequencies (coded passages) by document type, county, SKR municipality group or respondent."""
    from .analysis import frequencies

    with open_store(home) as store:
        table = frequencies(store, by.value, coder_name=coder)
    _chart(table, chart, "bar")
    _chart(table, heat, "heat")
    if as_json:
        print_json(table.to_json())
        return
    _print_table(table)


@code_app.command("cooccurrence")
@friendly_errors
def cooccurrence_cmd(home: Optional[Path] = HomeOpt, coder: Optional[str] = typer.Option(None, "--coder"),
                     chart: Optional[Path] = typer.Option(None, "--chart", help="Also write a heat map (.svg or .png)."),
                     as_json: bool = JsonOpt):
    """Code co-occurrence: passages that carry both codes."""
    from .analysis import cooccurrence

    with open_store(home) as store:
        table = cooccurrence(store, coder_name=coder)
    _chart(table, chart, "heat")
    if as_json:
        print_json(table.to_json())
        return
    _print_table(table)


def _print_table(table) -> None:
    if not table.codes:
        typer.echo("no codings yet")
        return
    cols = table.columns
    typer.echo(f"{'code':<36} " + " ".join(f"{c[:12]:>12}" for c in cols) + f" {'total':>6}")
    for code in table.codes:
        typer.echo(f"{code[:36]:<36} " + " ".join(f"{table.cells[code].get(c, 0):>12}" for c in cols)
                   + f" {table.totals.get(code, 0):>6}")


@code_app.command("quotes")
@friendly_errors
def quotes_cmd(home: Optional[Path] = HomeOpt,
               size: Optional[str] = typer.Option(None, "--size", help="smaller, medium or larger municipality."),
               role: Optional[str] = typer.Option(None, "--role", help="sending or receiving municipality."),
               organisation: Optional[str] = typer.Option(None, "--organisation", help="municipality, county_board, agency, individual, other."),
               as_json: bool = JsonOpt):
    """Interview quotes with their attribution (who said it), filterable."""
    import json

    with open_store(home) as store:
        rows = store.quotes(size=size, role=role, organisation=organisation)
    out = [{"passage_id": r["passage_id"], "document": r["doc_id"], "title": r["title"], "page": r["page_start"],
            "path": r["path"], "text": r["text"], "source": r["source"], "respondent": r["respondent"], "size": r["size"],
            "role": r["role"], "organisation": r["organisation"], "region": r["region"],
            "footnotes": json.loads(r["footnotes"] or "[]")} for r in rows]
    if as_json:
        print_json(out)
        return
    for q in out:
        typer.echo(f"{q['passage_id']} s. {q['page']} {q['title']}")
        typer.echo(f"  {' '.join(q['text'].split())[:160]}")
        typer.echo(f"  — {q['respondent'] or 'okänd'} [{q['size'] or '-'}, {q['role'] or '-'}, {q['organisation'] or '-'}]")


@code_app.command("export")
@friendly_errors
def export_cmd(fmt: ExportFormat = typer.Option(..., "--format", help="qdpx (REFI-QDA project), csv/xlsx (coded segments), qdc or codebook-csv."),
               out: Path = typer.Option(..., "--out", help="File to write."),
               home: Optional[Path] = HomeOpt,
               no_pseudonymise: bool = typer.Option(False, "--no-pseudonymise", help="Keep personnummer and private persons' names."),
               as_json: bool = JsonOpt):
    """Export codings or the codebook (personnummer and private names pseudonymised unless asked not to)."""
    from .coding_export import export

    with open_store(home) as store:
        result = export(store, fmt.value, out, pseudonymise=not no_pseudonymise)
    if as_json:
        print_json(result)
    else:
        typer.echo(", ".join(f"{k} {v}" for k, v in result.items() if k not in ("format", "warnings") and v != []))
        for w in result.get("warnings", []):
            typer.echo(f"warning: {w}", err=True)


@code_app.command("import")
@friendly_errors
def import_cmd(file: Path = typer.Argument(..., help="A .qdpx project, a .qdc codebook or a codebook CSV."),
               home: Optional[Path] = HomeOpt, as_json: bool = JsonOpt):
    """Import a codebook (.qdc, CSV) or a REFI-QDA project (.qdpx) coded further in another tool."""
    from .coding_export import import_codebook_file, import_project

    with open_store(home) as store:
        if file.suffix.lower() == ".qdpx":
            result = import_project(store, file)
        else:
            result = {"codes": import_codebook_file(store, file)}
    if as_json:
        print_json(result)
    else:
        typer.echo(", ".join(f"{k}: {v}" for k, v in result.items()))
