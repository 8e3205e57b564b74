# Two commands: `make run` (set up and start the chat app) and `make test` (set up and run
# every check). Both create .venv/ with pip and install the versions pinned, with hashes, in
# requirements/*.lock (the versions `make test` passed with); `make lock` refreshes the pins.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK_RUN := requirements/run.lock
LOCK_DEV := requirements/dev.lock
PIP_TOOLS := pip-tools==7.6.2
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run warm test lint typecheck pytest setup setup-dev chromium bench clean-state demo-data lock help

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.stamp-run: pyproject.toml $(LOCK_RUN)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK_RUN)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	@touch $@

# The dev set-up includes the local-llm extra: the OpenAI path is tested end to end against
# llama-cpp-python's server (it compiles once, about 5 minutes on 2 cores; pip caches the wheel).
$(VENV)/.stamp-dev: pyproject.toml $(LOCK_DEV) $(VENV)/.stamp-run
	$(PY) -m pip install -q --require-hashes -r $(LOCK_DEV)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e '.[dev,local-llm]'
	@touch $@

setup: $(VENV)/.stamp-run  ## Install the runtime into .venv/.

setup-dev: $(VENV)/.stamp-dev chromium  ## Install the runtime, the dev tools and chromium.

chromium:  ## Install Debian's chromium (and CJK/emoji fonts for screenshots) when absent.
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    chromium fonts-wqy-microhei fonts-noto-color-emoji; \
	fi

# The app answers profile and segment requests within seconds on a fresh state directory and
# builds the product index in the background (the status line shows its progress); `make warm`
# builds everything ahead instead (e.g. in an image), with a progress bar.
run: setup  ## Set up and start the chat app on the embedded offline model.
	$(PY) app.py

warm: setup  ## Build the profiles and product index into the state dir ahead of `make run`.
	$(PY) -m agent data warm

lint: setup-dev  ## ruff over the whole project, and the import contracts (pyproject.toml).
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: setup-dev  ## Strict mypy over agent/ and tools/.
	$(VENV)/bin/mypy

pytest: setup-dev  ## The test suite.
	$(VENV)/bin/pytest -q

test: lint typecheck pytest  ## Set up and run lint, type check and every test.

bench: setup-dev  ## Run every benchmark in bench/.
	@for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

demo-data: setup  ## Regenerate the demo shop under data/demo (seeded: same bytes).
	$(PY) -m agent data demo --out data/demo

# pip-compile resolves against the registries (minutes: it hashes every file of every pin).
lock:  ## Refresh requirements/*.lock from pyproject.toml (pinned versions with hashes).
	@test -x .lockenv/bin/pip-compile || ($(PYTHON) -m venv .lockenv && \
	  .lockenv/bin/pip install -q $(PIP_TOOLS))
	.lockenv/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --extra dev --extra local-llm \
	  -o $(LOCK_DEV) pyproject.toml requirements/build.in
	.lockenv/bin/pip-compile -q --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -c $(LOCK_DEV) -o $(LOCK_RUN) pyproject.toml requirements/build.in

clean-state:  ## Remove caches, indexes and traces.
	rm -rf .state
