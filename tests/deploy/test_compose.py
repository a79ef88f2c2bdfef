"""deploy/compose.yaml, checked without a container engine (none runs here): it parses as a
compose file, every service is health-checked and started after what it needs, every variable
it reads is described in deploy/.env.example, every setting it gives the API is one of the
app's, and every option it gives `mlflow server` is one that command takes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import mlflow.environment_variables
import pytest
import yaml
from mlflow.cli import server as mlflow_server

from cli.settings import Settings

DEPLOY = Path(__file__).parents[2] / "deploy"
TOP_LEVEL = {"name", "services", "volumes", "networks", "configs", "secrets", "include"}
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:[:?\-+][^}]*)?\}")
AWS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # boto3's, read by MLflow's S3 store


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / "compose.yaml").read_text()))


def test_it_is_a_compose_file_with_the_teams_services(compose: dict[str, Any]) -> None:
    assert set(compose) - TOP_LEVEL <= {key for key in compose if key.startswith("x-")}
    services = {"postgres", "objects", "bucket", "mlflow", "api", "collector"}
    assert set(compose["services"]) == services
    assert compose["services"]["collector"]["profiles"] == ["otel"]  # optional
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, name


def test_every_service_is_checked_and_starts_after_what_it_needs(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        if name != "bucket":  # a one-off job, which its dependants wait to finish
            assert service["healthcheck"]["test"], name
        for needed, how in service.get("depends_on", {}).items():
            assert needed in services, (name, needed)
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[needed], (name, needed)
            else:
                assert how["condition"] == "service_completed_successfully", (name, needed)
    assert set(services["mlflow"]["depends_on"]) == {"postgres", "bucket"}
    assert set(services["api"]["depends_on"]) == {"postgres", "mlflow"}


def test_every_variable_it_reads_is_described_and_every_described_one_read() -> None:
    used = set(VARIABLE.findall((DEPLOY / "compose.yaml").read_text()))
    example = (DEPLOY / ".env.example").read_text()
    described = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    assert used == described


def test_the_api_gets_only_settings_the_app_has(compose: dict[str, Any]) -> None:
    names = {name.upper() for name in Settings.model_fields}
    given = set(compose["services"]["api"]["environment"])
    assert given <= names, given - names
    assert compose["services"]["api"]["command"] == ["writer", "serve"]


def test_mlflow_gets_only_options_and_variables_it_reads(compose: dict[str, Any]) -> None:
    service = compose["services"]["mlflow"]
    assert service["command"][:2] == ["mlflow", "server"]
    options = {option for param in mlflow_server.params for option in param.opts}
    given = {arg.split("=", 1)[0] for arg in service["command"][2:]}
    assert given <= options, given - options
    known = {
        value.name
        for value in vars(mlflow.environment_variables).values()
        if hasattr(value, "name") and isinstance(value.name, str)
    }
    known |= {"MLFLOW_BACKEND_STORE_URI"}  # the server command's own variable
    assert set(service["environment"]) <= known | AWS, set(service["environment"]) - known


def test_the_files_it_mounts_are_there(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), source
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    for pipeline in collector["service"]["pipelines"].values():
        assert set(pipeline["receivers"]) <= set(collector["receivers"])
        assert set(pipeline["exporters"]) <= set(collector["exporters"])
