# The two commands a new user needs. Each creates .venv on first use and installs again only
# when pyproject.toml changes (a stamp file per extra records the last install).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE ?= examples/eu-chat-assistant.yaml
OUT ?= forecast-example

.PHONY: forecast test install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## make forecast: install (once), then forecast the bundled example into $(OUT)/
forecast: install
	$(BIN)/planner forecast $(EXAMPLE) --out $(OUT)

## make test: install with the test extra (once), then run the test suite
test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) forecast-*/ .pytest_cache .hypothesis
