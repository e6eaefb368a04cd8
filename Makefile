# Two commands on a fresh Debian machine with python3 and make:
#   make run    set up, then run curator's scheduler on the shipped feeds.yaml
#   make test   set up (Chromium and PostgreSQL included), then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= feeds.yaml
# A path entry instead of setuptools' import hook: every `curator` start is ~10 ms faster.
EDITABLE := --config-settings editable_mode=compat

.PHONY: run poll test install install-test browser postgres lint bench clean

run: install
	$(BIN)/curator --config $(CONFIG) run

poll: install
	$(BIN)/curator --config $(CONFIG) poll

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	PYTHON=$(PYTHON) VENV=$(VENV) sh scripts/bootstrap.sh
	$(BIN)/pip install --quiet --disable-pip-version-check -e . $(EDITABLE)
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]' $(EDITABLE)
	touch $@

browser:
	sh scripts/install-chromium.sh
	sh scripts/install-axe.sh

postgres:
	sh scripts/install-postgresql.sh

test: install-test browser postgres
	$(BIN)/ruff check curator tests bench
	$(BIN)/mypy curator
	$(BIN)/python -m pytest -n auto --dist worksteal -q

lint: install-test
	$(BIN)/ruff check curator tests bench
	$(BIN)/mypy curator

bench: install
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]' $(EDITABLE)
	$(BIN)/python bench/poll_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache test-output
