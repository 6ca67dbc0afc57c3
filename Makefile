# Everything a fresh machine needs: `make demo` and `make test` install first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
TORCH  := torch==2.13.0
PYTEST_ARGS ?=
# make test: parallel test processes, each running one file at a time (sized for 2 cores)
TEST_WORKERS ?= 2

.PHONY: install demo test test-fast lint bench docs models clean

install: $(STAMP)

# torch first and explicitly: the CPU wheel on disk. A bare `torch` requirement with
# no torch installed would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || (apt-get update -qq && apt-get install -y -qq chromium) || echo "chromium not installed: the browser tests will be skipped"
	touch $(STAMP)

demo: install
	bash scripts/demo.sh

# Everything (what .ci/run calls): unit, integration and slow tests, on TEST_WORKERS
# processes; each runs whole files (a file's servers start once) with one torch thread.
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

# The inner loop, under a minute: no servers, no job workers, no training.
test-fast: install
	$(PY) -m pytest -m "not integration and not slow" $(PYTEST_ARGS)

# Style, import order and common bugs (ruff), formatting, and types (mypy, on src/).
lint: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(PY) -m mypy

bench: install
	$(PY) benchmarks/endpoint_throughput.py --clients 16
	$(PY) benchmarks/transform_throughput.py
	$(PY) benchmarks/finetune_throughput.py
	$(PY) benchmarks/backend_latency.py
	$(PY) benchmarks/endpoint_throughput.py --clients 64 --backend ctranslate2 --quantize int8 --chat-rounds 0 --skip-transformers-serve
	$(PY) benchmarks/transform_throughput.py --backend ctranslate2 --quantize int8 --no-memory-check

# The command reference is generated from --help; tests fail when it is stale.
docs: install
	$(VENV)/bin/typer springboard.cli.main utils docs --name springboard --output docs/cli.md
	$(PY) scripts/hyperparameter_table.py
	$(PY) scripts/ui_screenshots.py

# Rebuild and retrain the bundled models (deterministic, < 30 min; the outputs are committed).
models: install
	$(PY) scripts/train_bundled_models.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
