# Each target sets itself up: a virtual environment in .venv with convzoo and its dev extras.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup demo test test-slow lint docs bench

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

setup: $(BIN)/.installed

demo: setup  # the lecture, executable: its claims decided on this machine, one page (reports/demo/index.html); 10 min
	$(BIN)/convzoo demo --budget 10 --out reports/demo

test: setup  # the fast tier; its time on the slowest CPU kind is in the README (benchmarks/test_suite_time.py)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

test-slow: setup  # the slow tier: multi-process and signal integration, ImageNet layouts, int8, the largest models
	$(BIN)/python -m pytest -n 2 -q -m slow

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache  # the layers and no circles (pyproject.toml: [tool.importlinter])

docs: setup  # rewrite the generated parts of README.md and docs/ (tests/test_generated_docs.py checks them)
	$(BIN)/python -m tools.docs.generated_docs

bench: setup
	$(BIN)/python benchmarks/eager_speed.py
	$(BIN)/python benchmarks/profile_speed.py
	$(BIN)/python benchmarks/train_throughput.py
	$(BIN)/python benchmarks/deploy_speed.py
