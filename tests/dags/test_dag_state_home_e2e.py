"""The sync state's home, end to end: the real DAG reads the sample store from PostgreSQL as a role that may
only SELECT, the usual grant for a tool that reads a warehouse.

With the state placed in another connection by ``[hubspot_commerce] state_conn_id`` a full sync lands every
record and records every row there; without it, ``extract`` fails on its first try, in seconds, naming the
grant, and nothing is written to HubSpot or created in the warehouse.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from test_dag_commerce_sync_e2e import LAST_STATES, assert_hubspot_matches_store, run

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]

DAGS = Path(__file__).resolve().parents[2] / "dags"
# HubSpot object type -> the store's tables its records come from.
SOURCES = {
    "products": ["products"],
    "contacts": ["customers"],
    "orders": ["orders"],
    "line_items": ["order_lines", "cart_lines"],
    "commerce_payments": ["payments"],
    "carts": ["carts"],
}
STREAMS = {  # mapping stream -> the store's table
    "products": "products",
    "contacts": "customers",
    "orders": "orders",
    "order_line_items": "order_lines",
    "payments": "payments",
    "carts": "carts",
    "cart_line_items": "cart_lines",
}


def store_count(warehouse: Any, table: str) -> int:
    with sqlite3.connect(warehouse.store) as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def dag_from_settings() -> Any:
    """The DAG as a DagBag loads it now: ``build_dag`` reads the ``[hubspot_commerce]`` settings when the
    file is parsed, so the session's ``sync_dag`` (parsed without them) would not see them."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["hubspot_commerce_sync"]


def last_try(dag_id: str, task_id: str) -> tuple[int, float]:
    """The try number of the task's latest run and how long that try took, in seconds."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        query = session.query(TaskInstance).filter_by(dag_id=dag_id, task_id=task_id)
        ti = query.order_by(TaskInstance.start_date.desc()).first()
        return ti.try_number, (ti.end_date - ti.start_date).total_seconds()


def test_a_read_only_source_syncs_with_the_state_placed_by_the_setting(
    pg_warehouse, sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pg_warehouse.writable_database()
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", pg_warehouse.url("reader"))
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STATE", pg_warehouse.url("airflow", database))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__STATE_CONN_ID", "sync_state")
    run(dag_from_settings(), {"full_refresh": True})
    landed = {object_type: len(sandbox.dump(object_type)) for object_type in SOURCES}
    assert landed == {
        object_type: sum(store_count(pg_warehouse, table) for table in tables)
        for object_type, tables in SOURCES.items()
    }
    assert_hubspot_matches_store(sandbox, pg_warehouse.store)
    recorded = pg_warehouse.execute("SELECT stream, outcome FROM hubspot_sync_state", database)
    assert Counter(stream for stream, _ in recorded) == {
        stream: store_count(pg_warehouse, table) for stream, table in STREAMS.items()
    }
    assert {outcome for _, outcome in recorded} == {"created"}
    assert pg_warehouse.execute("SELECT to_regclass('public.hubspot_sync_state')", "shop") == [(None,)]


def test_a_read_only_source_without_the_setting_fails_in_seconds_naming_the_grant(
    sync_dag, pg_warehouse, sandbox, monkeypatch: pytest.MonkeyPatch, capfd
) -> None:
    """Retries are on (3, two minutes apart), but missing rights fail the first try, before any record is
    read or written in HubSpot."""
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", pg_warehouse.url("reader"))
    monkeypatch.setattr(sync_dag.get_task("extract"), "retries", 3)
    started = time.monotonic()
    files = run(sync_dag, {"full_refresh": True}, expect="failed")
    assert time.monotonic() - started < 90, "a retry would wait two minutes"
    assert LAST_STATES["extract"] == "failed" and LAST_STATES["validate"] == "upstream_failed"
    try_number, seconds = last_try(sync_dag.dag_id, "extract")
    assert try_number == 1 and seconds < 10
    assert (
        "StateTableRefused: cannot create the sync state table hubspot_sync_state in connection "
        "'commerce_source' (permission denied for schema public): GRANT CREATE ON SCHEMA public TO reader, "
        "or set [hubspot_commerce] state_conn_id / state_table to a place it can write"
    ) in capfd.readouterr().out
    assert "THE RUN IS INCOMPLETE: extract failed" in files.report.read_text()
    sent = sandbox.stats()["by_path"]
    assert not [path for path in sent if "/objects/" in path or "/associations/" in path], "no record"
    # setup, beside extract, only reads: the key property is created by plan_quota, after validate
    reads = ("GET ", "POST /oauth/v2/private-apps/get/access-token-info")
    assert not [path for path in sent if not path.startswith(reads)]
    for object_type in SOURCES:
        assert sandbox.dump(object_type) == [], object_type
    assert pg_warehouse.execute("SELECT to_regclass('public.hubspot_sync_state')", "shop") == [(None,)]
