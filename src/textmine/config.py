"""Where things live: the home folder (store and indexes), from --home, then the
TEXTMINE_HOME environment variable, then ./indexes."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_HOME = "indexes"


def home_dir(home: str | Path | None = None) -> Path:
    if home:
        return Path(home)
    env = os.environ.get("TEXTMINE_HOME")
    return Path(env) if env else Path(DEFAULT_HOME)
