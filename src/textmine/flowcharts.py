"""Charts of the flows view and the county pages, as SVG or PNG (matplotlib, as in
charts.py and sharing its lock, since pyplot's state is global): a matrix of flows sender
-> receiver, and a county's timeline per year."""

from __future__ import annotations

from .charts import PALETTE, _lock, _plt, _save, _short


def flow_matrix(flow_rows: list[dict], fmt: str = "svg", title: str = "") -> bytes:
    """Senders as rows, receivers as columns, the number of case passages in each cell.
    `flow_rows` are Flow.to_json() dicts."""
    senders = sorted({f["sender_name"] for f in flow_rows}, key=lambda n: (n == "okänd", n))
    receivers = sorted({f["receiver_name"] for f in flow_rows}, key=lambda n: (n == "okänd", n))
    cells = {(f["sender_name"], f["receiver_name"]): f["count"] for f in flow_rows}
    rows, cols = senders or ["–"], receivers or ["–"]
    data = [[cells.get((r, c), 0) for c in cols] for r in rows]
    with _lock:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(max(5.5, 0.5 * len(cols) + 3.5), 0.42 * len(rows) + 2.2))
        im = ax.imshow(data, cmap="Blues", aspect="auto", vmin=0)
        ax.set_xticks(range(len(cols)), [_short(c, 26) for c in cols], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), [_short(r, 26) for r in rows], fontsize=8)
        ax.set_xlabel("mottagande")
        ax.set_ylabel("avsändande")
        top = max((v for row in data for v in row), default=0)
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7, color="white" if v > top * 0.6 else "black")
        fig.colorbar(im, ax=ax, shrink=0.6, label="antal fallavsnitt")
        ax.set_title(title or "Flöden: avsändande → mottagande")
        try:
            return _save(fig, fmt)
        finally:
            plt.close(fig)


TIMELINE_SERIES = (("documents", "dokument"), ("cases_out", "fall ut (avsändande)"), ("cases_in", "fall in (mottagande)"),
                   ("examples", "goda exempel"))


def timeline_chart(timeline: list[dict], fmt: str = "svg", title: str = "") -> bytes:
    """Grouped bars per year: documents, cases out, cases in, good examples."""
    years = [t["year"] for t in timeline]
    with _lock:
        plt = _plt()
        fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(years) + 2), 3.4))
        width = 0.2
        for i, (key, label) in enumerate(TIMELINE_SERIES):
            xs = [k + (i - 1.5) * width for k in range(len(years))]
            ax.bar(xs, [t[key] for t in timeline], width, label=label, color=PALETTE[i])
        ax.set_xticks(range(len(years)), [str(y) for y in years] or [])
        ax.set_ylabel("antal")
        ax.legend(fontsize=8, frameon=False, ncols=2)
        ax.spines[["top", "right"]].set_visible(False)
        ax.set_title(title or "Per år")
        if not years:
            ax.text(0.5, 0.5, "inga daterade uppgifter", ha="center", va="center", transform=ax.transAxes)
        try:
            return _save(fig, fmt)
        finally:
            plt.close(fig)
