# The two commands a new user needs. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXAMPLE ?= examples/eu-chat-assistant.yaml
OUT ?= forecast-example

.PHONY: forecast test install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .

install-test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"

## make forecast: install, then forecast the bundled example into $(OUT)/
forecast: install
	$(BIN)/planner forecast $(EXAMPLE) --out $(OUT)

## make test: install with the test extra, then run the test suite
test: install-test
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) forecast-*/ .pytest_cache .hypothesis
