"""The tracking server's database URL, as SQLAlchemy needs it for the driver the app ships."""

from __future__ import annotations

import pytest

from service.tracking_server import database_url


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/mlflow", "postgresql+psycopg://u:p@db:5432/mlflow"),
        ("postgres://u@db/mlflow", "postgresql+psycopg://u@db/mlflow"),
        ("postgresql+psycopg://u@db/mlflow", "postgresql+psycopg://u@db/mlflow"),
        ("mysql+pymysql://u@db/mlflow", "mysql+pymysql://u@db/mlflow"),
    ],
)
def test_a_postgresql_url_gets_the_psycopg_3_driver(given: str, used: str) -> None:
    assert database_url(given) == used
