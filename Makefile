# Quick start: `make demo` (set up + run the demo on the embedded default) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test eval bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/tally demo --out demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

bench: $(STAMP)
	nice $(PY) -m benchmarks.table

eval: $(STAMP)
	$(VENV)/bin/tally eval --suite ci --mode offline --out eval-report/offline
	$(VENV)/bin/tally eval --suite ci --mode recorded --no-baseline --out eval-report/recorded
