# Two commands do all set-up on a fresh machine with python3 and make:
#   make demo   filter a sample photograph and print the summary
#   make test   lint, type-check and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_IMAGE := sample_images/astronaut.png

.PHONY: demo test lint typecheck pytest bench wheel-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run pip only when pyproject.toml changes, so a second run is fast.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev,dask]"
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev,dask,bench]"
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(BIN)/convcli apply $(DEMO_IMAGE) -k sobel -o out/astronaut_sobel.png --overwrite
	$(BIN)/convcli apply $(DEMO_IMAGE) -k gaussian:sigma=2 -o out/astronaut_blur.png --overwrite

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_engine.py --rss
	$(BIN)/python benchmarks/bench_cli.py --write

wheel-check:
	bash .ci/wheel-check

clean:
	rm -rf $(VENV) out dist build .pytest_cache .mypy_cache .ruff_cache
