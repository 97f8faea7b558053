# Two commands do all the set-up on a fresh machine:
#   make run    install everything, then run ShopLens on its embedded default (launch.py)
#   make test   install everything, then run the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint bench-load clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python launch.py

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-load: install
	$(BIN)/python -m eval.bench.load_bench --events 10M

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
