# The API on a slim Python image, as a non-root user. Point MLFLOW_TRACKING_URI at your
# tracking server; without one, traces go to a sqlite file in /app/data, beside the sessions.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

RUN pip install --no-cache-dir "uv==0.13.9" \
 && useradd --create-home --uid 10001 app \
 && mkdir -p /app/data && chown app /app/data
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY tracing ./tracing
COPY agent ./agent
COPY service ./service
COPY api ./api
COPY cli ./cli
COPY evals ./evals
COPY offline_model ./offline_model
COPY prompts ./prompts
RUN uv sync --frozen --no-dev

USER app
ENV PATH="/app/.venv/bin:$PATH" \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    MLFLOW_TRACKING_URI=sqlite:////app/data/mlflow.db \
    CHECKPOINT_URL=sqlite:////app/data/sessions.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('API_PORT', '8000'), timeout=2)"]
CMD ["writer", "serve"]
