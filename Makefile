# Every target creates .venv and installs what it needs: nothing to install by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: demo test lint bench soak venv tools clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,postgres]'
	@touch $(STAMP)

venv: $(STAMP)

# External tools the tests drive for real (promtool, amtool, prometheus, alertmanager).
tools:
	@bash scripts/install-tools.sh

demo: venv
	$(BIN)/agent-sidecar demo

lint: venv
	$(BIN)/ruff check sidecar runtime tests bench
	$(BIN)/mypy sidecar runtime

test: venv tools lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
