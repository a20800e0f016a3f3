"""Charts of the coding analysis as SVG or PNG (matplotlib, no display needed): a
stacked bar chart of code frequencies by a dimension and a heat map of a code table
(co-occurrence, or codes by dimension)."""

from __future__ import annotations

import io
import threading

from .analysis import DIMENSIONS_SV, Table, value_sv

FORMATS = ("svg", "png")
_lock = threading.Lock()  # pyplot's state is global: one figure at a time
PALETTE = ["#1565C0", "#E07B00", "#2E7D32", "#6A1B9A", "#C62828", "#00897B", "#8B5A2B", "#C2185B", "#546E7A",
           "#C9A000", "#7CB342", "#00ACC1"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"unknown chart format '{fmt}': use svg or png")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=120, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def _short(name: str, n: int = 38) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def bar_chart(table: Table, fmt: str = "svg", title: str = "") -> bytes:
    """Horizontal stacked bars: one bar per code, one colour per value of the dimension."""
    with _lock:
        plt = _plt()
        codes = list(reversed(table.codes)) or ["(inga kodningar)"]
        fig, ax = plt.subplots(figsize=(9, 0.4 * len(codes) + 1.6))
        left = [0] * len(codes)
        for i, col in enumerate(table.columns):
            values = [table.cells.get(c, {}).get(col, 0) for c in codes]
            ax.barh([_short(c) for c in codes], values, left=left, label=value_sv(col, table.dimension), color=PALETTE[i % len(PALETTE)])
            left = [a + b for a, b in zip(left, values)]
        ax.set_xlabel("antal kodade avsnitt")
        ax.set_title(title or f"Koder efter {DIMENSIONS_SV.get(table.dimension, table.dimension)}")
        if table.columns:
            ax.legend(fontsize=8, loc="lower right", frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        try:
            return _save(fig, fmt)
        finally:
            plt.close(fig)


def heat_map(table: Table, fmt: str = "svg", title: str = "") -> bytes:
    """A grid of counts, darker for more; each cell is labelled with its number."""
    with _lock:
        plt = _plt()
        rows, cols = table.codes or ["–"], table.columns or ["–"]
        data = [[table.cells.get(r, {}).get(c, 0) for c in cols] for r in rows]
        fig, ax = plt.subplots(figsize=(max(5, 0.55 * len(cols) + 4), 0.45 * len(rows) + 2))
        im = ax.imshow(data, cmap="Blues", aspect="auto")
        ax.set_xticks(range(len(cols)), [_short(value_sv(c, table.dimension), 24) for c in cols], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), [_short(r) for r in rows], fontsize=8)
        top = max((v for row in data for v in row), default=0)
        for i, row in enumerate(data):
            for j, v in enumerate(row):
                if v:
                    ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                            color="white" if v > top * 0.6 else "black")
        fig.colorbar(im, ax=ax, shrink=0.6)
        ax.set_title(title or ("Samförekomst av koder" if table.dimension == "cooccurrence" else f"Koder efter {DIMENSIONS_SV.get(table.dimension, table.dimension)}"))
        try:
            return _save(fig, fmt)
        finally:
            plt.close(fig)
