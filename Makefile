# Every target sets itself up on first use: a virtual environment in .venv with torch first
# (so nothing later pulls another torch build), then this package with its extras.
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH ?= torch==2.13.0
SHARED ?= $(abspath ../shared)
ARGS ?=
PYTEST_ARGS ?=
# Two pytest-xdist workers: every test runs torch on one thread, so two workers use a 2-core machine fully
# (2 workers on this project's 2-core VM, 2026-12-02: 2,059 tests in 19 min 33 s, over the 15-min target; the
# slowest lane is the smoke-study group, about 11 min of it in --durations; an earlier, smaller suite took 6 min 49 s).
PYTEST_WORKERS ?= 2

export KRONLAB_SHARED := $(SHARED)
export TOKENIZERS_PARALLELISM := false
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: install train test lint format bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

install: $(VENV)/.installed

train: install
	$(PY) -m src.train $(ARGS)

test: install
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) -m bench.run_all

clean:
	rm -rf logs .pytest_cache
