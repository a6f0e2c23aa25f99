# makegood: `make demo` and `make test` are the two commands a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-fast lint format bench-batch bench-quality bench-serve bench-console \
	bench-scale bench-intents bench-text bench-real console-screenshots clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: venv browser
	$(BIN)/lint-imports
	$(BIN)/pytest -q -n 2 --dist loadgroup

test-fast: venv
	$(BIN)/pytest -q -m "not slow"

lint: venv
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf build .pytest_cache .ruff_cache .mypy_cache

# --- the demo: simulate -> train -> recommend -> evaluate, on an embedded default -------
DEMO_N      ?= 50000
DEMO_SEED   ?= 0
DEMO_RAW    := data/raw
DEMO_OUT    := data/processed
DEMO_FRAC   ?= 0.25

demo: venv
	$(BIN)/makegood simulate --n $(DEMO_N) --seed $(DEMO_SEED) --out $(DEMO_RAW)
	$(BIN)/makegood train --history $(DEMO_RAW)/history.csv --catalog $(DEMO_RAW)/catalog.yaml \
		--models-dir models --tracking-uri sqlite:///mlruns/mlflow.db
	@mkdir -p $(DEMO_OUT)
	$(BIN)/makegood recommend --complaints $(DEMO_RAW)/new_complaints.csv --catalog $(DEMO_RAW)/catalog.yaml \
		--budget $$($(PY) -c "import json; m = json.load(open('$(DEMO_RAW)/manifest.json')); print(round($(DEMO_FRAC) * m['oracle_unconstrained_spend'], 2))") \
		--output $(DEMO_OUT)/recommendations.csv
	$(BIN)/makegood evaluate --truth $(DEMO_RAW)/truth.csv --complaints $(DEMO_RAW)/new_complaints.csv \
		--history $(DEMO_RAW)/history.csv --catalog $(DEMO_RAW)/catalog.yaml \
		--budget-fraction $(DEMO_FRAC) --output $(DEMO_OUT)/evaluation.json --tracking-uri sqlite:///mlruns/mlflow.db
	@echo ""
	@echo "outputs:"
	@echo "  sample data        $(DEMO_RAW)/ (history.csv, new_complaints.csv, catalog.yaml, truth.csv)"
	@echo "  model bundle       models/$$(cat models/LATEST)"
	@echo "  MLflow store       mlruns/mlflow.db (artifacts in mlruns/artifacts); browse: $(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db"
	@echo "  recommendations    $(DEMO_OUT)/recommendations.csv (+ .rankings.jsonl)"
	@echo "  evaluation         $(DEMO_OUT)/evaluation.json"

# --- headless Chromium and poppler (pdftotext) for the report's browser and PDF tests ------
.PHONY: browser
browser:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed (not root?): the browser tests will skip"
	@test -x /usr/bin/pdftotext || (apt-get update -qq && apt-get install -y -qq poppler-utils) \
		|| echo "poppler-utils could not be installed (not root?): the PDF reading tests will skip"

bench-batch: venv
	$(PY) benchmarks/bench_batch.py --n-new 100000

# --- scale-out (issue 13): single process vs a Dask LocalCluster of 2 workers, 500k and 1M --
SCALE_ARGS ?=

bench-scale: venv
	$(PY) benchmarks/bench_scale.py $(SCALE_ARGS)

# --- decision-quality benchmark (issues 3, 25): makegood vs the peer panel (EconML, causalml,
# a LightGBM T-learner) over five paired worlds per size; hours on 2 cores: run it on a quiet
# machine. BENCH_ARGS='--quick --sizes 10000' is a one-world smoke run; see --help.
BENCH_ARGS ?=

bench-quality: venv
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) benchmarks/bench_quality.py $(BENCH_ARGS)

# 50,000 history rows by default (the targets); BENCH_SERVE_ARGS=--with-200k also measures 200,000
BENCH_SERVE_ARGS ?=

bench-serve: venv
	$(PY) benchmarks/bench_serve.py $(BENCH_SERVE_ARGS)

# --- real complaints (issue 24): the CFPB export through docs/examples/cfpb.yaml; makegood vs
# the response's own rate vs a plain LightGBM on the export's columns, on time splits ------
BENCH_REAL_ARGS ?=

bench-real: venv
	$(PY) benchmarks/bench_real.py $(BENCH_REAL_ARGS)

# --- the agents' console (issue 11): take next -> case view ready, in headless Chromium ---
BENCH_CONSOLE_ARGS ?=

bench-console: venv browser
	$(PY) benchmarks/bench_console.py $(BENCH_CONSOLE_ARGS)

# PNGs of a working day at 1366x768 in reports/console/, for review: the queue (a why-first
# tooltip open), a case, N asking with a case open, a close call, a handover received by
# name, a channel switch. CONSOLE_SHOTS_ARGS="--models-dir DIR --complaints CSV" reuses a bundle
CONSOLE_SHOTS_ARGS ?=

console-screenshots: venv browser
	$(PY) tests/e2e/consoleharness.py --out reports/console $(CONSOLE_SHOTS_ARGS)

# --- text (issue 21): customer_said precision/recall/F1 with bootstrap intervals on the
# real held-out CFPB narratives and on held-out generated phrasing, emotion confusion
# matrices on real text, ms per complaint (needs the shared CFPB parquet, --cfpb); then
# the real held-out sets: A (the shared test split), B (--heldout-b) and C (--heldout-c) --
# BENCH_TEXT_HELDOUT_ARGS=--verbose prints the held-out sets' misses too
BENCH_TEXT_HELDOUT_ARGS ?=
bench-text: venv
	$(PY) benchmarks/bench_text.py $(BENCH_ARGS)
	$(PY) benchmarks/bench_text.py --heldout-b $(BENCH_TEXT_HELDOUT_ARGS)
	$(PY) benchmarks/bench_text.py --heldout-c $(BENCH_TEXT_HELDOUT_ARGS)

# the earlier benchmark (generated phrasing, simulated emotions), kept as an alias
bench-intents: venv
	$(PY) benchmarks/bench_intents.py $(BENCH_ARGS)

# --- notebooks (issue 6): run them as CI does, or strip outputs before committing -------
.PHONY: notebooks notebooks-strip
notebooks: venv
	$(BIN)/pytest -q tests/notebooks

notebooks-strip: venv
	$(PY) -c 'import glob, nbformat as nbf; \
	nbs = {p: nbf.read(p, as_version=4) for p in glob.glob("notebooks/*.ipynb")}; \
	[c.update(outputs=[], execution_count=None) for nb in nbs.values() for c in nb.cells if c.cell_type == "code"]; \
	[nbf.write(nb, p) for p, nb in nbs.items()]'
