# Two commands on a fresh machine with Python >= 3.11 and make:
#   make run    install, build every asset on the embedded data, publish the marts
#   make test   install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export DAGSTER_HOME := $(CURDIR)/.dagster_home
export GX_ANALYTICS_ENABLED := false
# One BLAS thread: the merger study's thousands of small least-squares fits (statsmodels IRLS) run 2 x slower with
# OpenBLAS's default thread per core, and far slower on a loaded machine; results are bit-identical (docs/performance.md).
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: install lock run site test ui sample bench bench-smoke bench-site bench-ui clean

# Installs come from requirements.lock (exact versions of every dependency, the dev tools and pip itself),
# so that a fresh clone installs what CI tested; the project itself is then installed without resolving.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: observatory/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp observatory/dagster.yaml $@

# Incremental: only what changed since the last run is recomputed (docs/operations.md); FULL=1 rebuilds everything.
run: install
	$(BIN)/python -m observatory run $(if $(filter-out 0,$(FULL)),--full)

# Rebuild only the static site (data/marts/site/) from the marts already published by `make run`.
site: install
	$(BIN)/python -m observatory run --select publish/site

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# Regenerate requirements.lock from pyproject.toml (dependencies + the dev extra), on Python 3.11 as CI.
# Pins already in the lock are kept when they still satisfy pyproject.toml (adding a dependency changes
# nothing else); `make lock LOCK_FLAGS=--upgrade` moves everything to the latest allowed versions.
# Index options of this machine's pip configuration are not written into the file (--no-emit-*).
LOCK_FLAGS ?=
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --extra dev --strip-extras --allow-unsafe --no-emit-find-links --no-emit-index-url \
		--no-emit-trusted-host $(LOCK_FLAGS) --output-file requirements.lock pyproject.toml

ui: install
	$(BIN)/dagster dev -h 127.0.0.1 -p $${PORT:-3000} -w workspace.yaml

# Regenerate the embedded SYNTHETIC SIRENE sample (data/raw/sirene/embedded/) from the repository's
# own embedded reference data: seeded, so the files come out byte-identical (about 30 s).
sample: install
	$(BIN)/python scripts/generate_sirene_sample.py

# National-scale benchmark (docs/performance.md): generates the SIRENE-shaped inputs (about 4 GB of
# Parquet at SCALE=1.0, in the git-ignored benchmarks/out/) if absent, then times every stage against
# the pandas baseline and the scan floor. About 25 min at SCALE=1.0 (half of it generating the inputs
# the first time); SCALE=0.1 for a quick look.
SCALE  ?= 1.0
REPEAT ?= 3
# pandas runs out of memory at national scale: the 10 x budget is measured at PANDAS_SCALE (empty: skipped).
PANDAS_SCALE ?= 0.3
bench: install
	$(BIN)/python -m benchmarks.run --scale $(SCALE) --repeat $(REPEAT) --generate --full-run \
		$(if $(PANDAS_SCALE),--pandas-scale $(PANDAS_SCALE))

# The benchmark end to end at a tiny scale: correctness only (floors = pipeline = Polars = pandas = planted truth).
bench-smoke: install
	$(BIN)/python -m pytest tests/integration/test_bench_smoke.py -q

# Site budgets (docs/performance.md): build time, France page and whole-site size, on the current publication.
bench-site: install
	$(BIN)/python -m benchmarks.site --repeat $(REPEAT)

# UI-launched runs against the command line (docs/performance.md): `make ui` on a free port with a private
# DAGSTER_HOME and a copy of data/, build_everything then rebuild_marts from each; the repository's data is untouched.
bench-ui: install
	$(BIN)/python -m benchmarks.ui_run

clean:
	rm -rf data/build
