"""Benchmarks, each a module run from the project root: `uv run python -m bench.<name>`."""
