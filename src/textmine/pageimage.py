"""Page images for the document view: a stored PDF page rendered with pdfium to PNG,
cached under <home>/cache/pages/ by the file's sha256, so each page is rendered once.

The file is the one the store recorded for the document (never a path from a request),
and it is checked against the stored sha256 before the first render: a file changed
since ingest would show pages that do not match the text."""

from __future__ import annotations

import threading
from pathlib import Path

from .errors import NotFound, TextmineError
from .parse import file_sha256

WIDTH_PX = 1000  # wide enough to read a page beside the text on a laptop screen
MAX_PIXELS = 40_000_000
# pdfium is not thread-safe: the web server renders one page at a time
_PDFIUM = threading.Lock()
_VERIFIED: set[tuple[str, str]] = set()


def source_file(path: str, sha256: str) -> Path:
    """The original file of a stored document, if it is still there and unchanged."""
    f = Path(path)
    if not f.is_file():
        raise NotFound(f"originalfilen finns inte längre på {path}")
    key = (str(f), sha256)
    if key not in _VERIFIED:
        if file_sha256(f) != sha256:
            raise NotFound(f"originalfilen {f.name} har ändrats sedan den lästes in: läs in den igen")
        _VERIFIED.add(key)
    return f


def page_png(home: Path, path: str, sha256: str, page: int, n_pages: int) -> Path:
    """The cached PNG of page `page` (1-based) of a stored PDF, rendered on first use."""
    if not path.lower().endswith(".pdf"):
        raise NotFound("sidbilder finns bara för PDF-dokument")
    if not 1 <= page <= n_pages:
        raise NotFound(f"sidan {page} finns inte: dokumentet har {n_pages} sidor")
    cache = Path(home) / "cache" / "pages"
    target = cache / f"{sha256}-{page}-{WIDTH_PX}.png"
    if target.exists():
        return target
    pdf = source_file(path, sha256)
    import pypdfium2 as pdfium

    cache.mkdir(parents=True, exist_ok=True)
    with _PDFIUM:
        try:
            doc = pdfium.PdfDocument(str(pdf))
            try:
                p = doc[page - 1]
                width, height = p.get_size()
                scale = WIDTH_PX / max(width, 1)
                if width * height * scale * scale > MAX_PIXELS:
                    scale = (MAX_PIXELS / max(width * height, 1)) ** 0.5
                image = p.render(scale=scale).to_pil()
            finally:
                doc.close()
        except pdfium.PdfiumError as exc:
            raise TextmineError(f"sidan kunde inte ritas: {exc}") from exc
    tmp = target.with_suffix(".tmp")
    image.save(tmp, format="PNG", optimize=False)
    tmp.replace(target)  # atomic: a concurrent reader never sees half a file
    return target
