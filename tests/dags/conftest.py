"""Fixtures for DAG tests: a migrated metadata DB with the ``hubspot_api`` pool, the DAG, a small store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_commerce.sample_store import StoreSize, generate_store

DAGS = Path(__file__).resolve().parents[2] / "dags"
SMALL = StoreSize(products=30, customers=40, orders=60, carts=20)


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
def sync_dag():
    """The DAG as Airflow loads it from the dags folder, without retries (a failure must fail fast here)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["hubspot_commerce_sync"]
    for task in dag.tasks:
        task.retries = 0
    return dag


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small sample store, and ``commerce_source`` pointed at it."""
    path = tmp_path / "store.sqlite"
    generate_store(path, SMALL)
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path
