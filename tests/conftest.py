"""Shared fixtures: Airflow settings for tests and one HubSpot sandbox process per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import time, so these must be set before anything imports airflow.
os.environ["AIRFLOW_HOME"] = str(ROOT / ".airflow-test")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"

TEST_TOKEN = "test-token"


def _airflow(*args: str) -> None:
    command = [str(Path(sys.executable).with_name("airflow")), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ.copy())
    assert result.returncode == 0, (
        f"airflow {' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    )


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """``dag.test`` needs a migrated metadata DB; the DAG's tasks need their pool (tasks cannot create it)."""
    _airflow("db", "migrate")
    _airflow("pools", "set", "hubspot_api", "4", "HubSpot API")


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator:
    """One real sandbox server process for the whole session (generous limits; tests that need
    tight limits start their own)."""
    from hubspot_sandbox.process import SandboxProcess

    with SandboxProcess(tokens=[TEST_TOKEN], rate_limit=1_000_000, daily_limit=100_000_000) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process):
    """The session's sandbox, emptied (objects, custom properties, counters, faults) before each test."""
    sandbox_process.reset()
    return sandbox_process


@pytest.fixture
def hubspot_conn(sandbox, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """``hubspot_default`` pointed at the sandbox through an Airflow connection environment variable. With
    indirect parametrization, the parameter is the connection's ``api_version`` extra (else none: the
    hook's default)."""
    import json

    connection = {"conn_type": "hubspot", "host": sandbox.url, "password": TEST_TOKEN}
    if getattr(request, "param", None) is not None:
        connection["extra"] = {"api_version": request.param}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
    return "hubspot_default"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A local S3 server (moto, a real process) with one bucket, for the whole session."""
    from hubspot_commerce_lab.distributed.services import MotoServer

    server = MotoServer(tmp_path_factory.mktemp("moto"), bucket="tests")
    server.start(dict(os.environ))
    yield server
    server.stop()


@pytest.fixture
def s3_dir(s3_server, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """``aws_default`` pointed at the S3 server; returns a fresh ``s3://aws_default@tests/<test>`` prefix."""
    import json

    extra = {"endpoint_url": s3_server.endpoint, "region_name": "us-east-1"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}),
    )
    return f"s3://aws_default@{s3_server.bucket}/{request.node.name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator:
    """A throwaway PostgreSQL cluster (Debian's binaries, as ``make distributed`` uses them), one per session;
    its database ``airflow`` belongs to the user ``airflow`` (password ``airflow``)."""
    from hubspot_commerce_lab.distributed.debian_packages import find_postgres_bin
    from hubspot_commerce_lab.distributed.services import PostgresServer

    binaries = find_postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed")
    root = Path(tempfile.mkdtemp(prefix="hubspot-commerce-pg-"))
    server = PostgresServer(binaries, root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
