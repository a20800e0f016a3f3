"""Shared fixtures: the demo corpus (always present), the real documents in
../shared/real-corpus (present in CI; tests skip with a reason when absent), and a
store with the demo corpus ingested once per session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
DOCUMENTS = CORPUS / "documents"
REAL = (ROOT / ".." / "shared" / "real-corpus").resolve()
REPORT = REAL / "statskontoret-2020-19-aktiv-medverkan.pdf"
TEXTMINE = [sys.executable, "-m", "textmine.cli"]


def real_corpus_or_skip() -> Path:
    if not REPORT.exists():
        pytest.skip(f"real corpus not found at {REAL} (it sits beside the project in CI)")
    return REAL


@pytest.fixture(scope="session")
def truth() -> list[dict]:
    return json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def parsed_corpus(truth):
    """Every demo document parsed once: {id: Document}."""
    from textmine.parse import parse_file

    return {t["id"]: parse_file(CORPUS / t["file"]) for t in truth}


@pytest.fixture(scope="session")
def real_report():
    real_corpus_or_skip()
    from textmine.parse import parse_file

    return parse_file(REPORT, jobs=2)


@pytest.fixture(scope="session")
def corpus_home(tmp_path_factory):
    """A store with the whole demo corpus ingested through the CLI."""
    home = tmp_path_factory.mktemp("home")
    run_cli("ingest", str(DOCUMENTS), "--home", str(home), "--quiet", check=True)
    return home


@pytest.fixture(scope="session")
def web_state(corpus_home):
    """What the web server holds (store, model, index) over the demo corpus store."""
    from textmine.server import WebState

    state = WebState(corpus_home)
    state.warm()
    return state


@pytest.fixture(scope="session")
def client(web_state):
    from fastapi.testclient import TestClient

    from textmine.app import create_app

    return TestClient(create_app(web_state), raise_server_exceptions=False)


def run_cli(*args: str, check: bool = False, env: dict | None = None, input: str | None = None):
    full_env = dict(os.environ)
    full_env.pop("TEXTMINE_HOME", None)
    if env:
        full_env.update(env)
    proc = subprocess.run(
        TEXTMINE + list(args), capture_output=True, text=True, env=full_env, cwd=str(ROOT), input=input, timeout=900
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"textmine {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def body_blocks(doc):
    return [b for _, b in doc.blocks(("heading", "paragraph", "list_item", "quote", "table"))]


@contextmanager
def served(app):
    """An ASGI app served by uvicorn on a free port of 127.0.0.1, in a thread; yields its URL."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
