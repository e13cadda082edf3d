"""Shared fixtures: Airflow settings for tests and one HubSpot sandbox process per test session."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator:
    """One real sandbox server process for the whole session (generous limits; tests that need
    tight limits start their own)."""
    from hubspot_commerce.sandbox.process import SandboxProcess

    with SandboxProcess(tokens=[TEST_TOKEN], rate_limit=1_000_000, daily_limit=100_000_000) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_process):
    """The session's sandbox, emptied (objects, custom properties, counters, faults) before each test."""
    sandbox_process.reset()
    return sandbox_process


@pytest.fixture
def hubspot_conn(sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    """``hubspot_default`` pointed at the sandbox through an Airflow connection environment variable."""
    import json

    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps({"conn_type": "hubspot", "host": sandbox.url, "password": TEST_TOKEN}),
    )
    return "hubspot_default"
