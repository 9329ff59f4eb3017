# Two commands on a fresh machine with Python >= 3.11 and make:
#   make run    install, build every asset on the embedded data, publish the marts
#   make test   install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

export DAGSTER_HOME := $(CURDIR)/.dagster_home
export GX_ANALYTICS_ENABLED := false

.PHONY: install run test ui sample bench bench-smoke clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(DAGSTER_HOME)/dagster.yaml

$(DAGSTER_HOME)/dagster.yaml: observatory/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp observatory/dagster.yaml $@

run: install
	$(BIN)/python -m observatory run

test: install
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/python -m pytest

ui: install
	$(BIN)/dagster dev -h 127.0.0.1 -p $${PORT:-3000} -w workspace.yaml

clean:
	rm -rf data/build
