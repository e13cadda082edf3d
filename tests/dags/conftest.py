"""Fixtures for DAG tests: a migrated metadata DB with the ``hubspot_api`` pool, the DAG, a small store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hubspot_commerce_lab.sample_store import StoreSize, generate_store

DAGS = Path(__file__).resolve().parents[2] / "dags"
SMALL = StoreSize(products=30, customers=40, orders=60, carts=20)


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
