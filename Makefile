# The README's two commands: `make run` and `make test`. Both install uv first if it is missing.
SHELL := /bin/bash
UV ?= $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: run test eval lint typecheck sync

$(UV):
	python3 -m venv .tools && .tools/bin/pip install --quiet uv

sync: $(UV)
	$(UV) sync --frozen

## MLflow server + API on the offline model (API_PORT=8000, MLFLOW_PORT=5000 by default).
run: sync
	$(UV) run writer up

## The whole test suite, plus lint and type checks.
test: sync lint typecheck
	$(UV) run pytest

## The golden set through the app on the offline model, gated on evals/thresholds.yaml.
eval: sync
	$(UV) run writer eval

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .

typecheck: sync
	$(UV) run mypy
