"""textmine: search, code and compile Swedish public documents on
"aktiv medverkan till bosättning i annan kommun" (social dumpning)."""

__version__ = "0.1.0"
