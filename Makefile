# Two commands: `make run` (set up and start the chat app) and `make test` (set up and run
# every check). Both create .venv/ with pip when it is missing or older than pyproject.toml.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test lint typecheck pytest setup setup-dev chromium bench clean-state demo-data help

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.stamp-run: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $@

# The dev set-up includes the local-llm extra: the OpenAI path is tested end to end against
# llama-cpp-python's server (it compiles once, about 5 minutes on 2 cores; pip caches the wheel).
$(VENV)/.stamp-dev: pyproject.toml $(VENV)/.stamp-run
	$(PY) -m pip install -q -e '.[dev,local-llm]'
	@touch $@

setup: $(VENV)/.stamp-run  ## Install the runtime into .venv/.

setup-dev: $(VENV)/.stamp-dev chromium  ## Install the runtime, the dev tools and chromium.

chromium:  ## Install Debian's chromium (and CJK/emoji fonts for screenshots) when absent.
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium fonts-wqy-microhei fonts-noto-color-emoji; \
	fi

run: setup  ## Set up and start the chat app on the embedded offline model.
	$(PY) app.py

lint: setup-dev  ## ruff over the whole project.
	$(VENV)/bin/ruff check .

typecheck: setup-dev  ## Strict mypy over agent/ and tools/.
	$(VENV)/bin/mypy

pytest: setup-dev  ## The test suite.
	$(VENV)/bin/pytest -q

test: lint typecheck pytest  ## Set up and run lint, type check and every test.

bench: setup-dev  ## Run every benchmark in bench/.
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

demo-data: setup  ## Regenerate the demo shop under data/demo (seeded: same bytes).
	$(PY) -m agent data demo --out data/demo

clean-state:  ## Remove caches, indexes and traces.
	rm -rf .state
