"""A write task cleared after a partial try: it resumes, and the report counts every row exactly once.

The first run of the real DAG (``dag.test``) loses ``create_orders`` after its first batch (the app loses
its orders scope, from the sandbox's faults; a daily limit would defer the task instead); the failed tasks
are then cleared with their downstream tasks, as the UI's Clear does, and run again in the same DAG run,
where the write task's checkpoint (``task_state_store``) lives.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import default_work_dir
from hubspot_commerce_lab.sample_store import StoreSize, generate_store

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]

LOGICAL_DATE = datetime(2025, 3, 2, 3, tzinfo=UTC)
COLUMNS = 6  # extracted, created, updated, unchanged, rejected, unfinished


def report_lines(files: RunStorage) -> dict[str, list[int]]:
    """The report's counts by stream (and ``total``), every column."""
    lines = {}
    for line in files.report.read_text().splitlines():
        parts = line.split()
        name_width = 1 if parts[:1] == ["total"] else 2
        numbers = parts[name_width : name_width + COLUMNS]
        if len(numbers) == COLUMNS and all(n.isdigit() for n in numbers):
            lines[parts[0]] = [int(n) for n in numbers]
    return lines


def resume_cleared(dag: Any, run_id: str) -> dict[str, str]:
    """Clear the run's failed tasks with their downstream tasks and run them again (dag.test's loop, without
    its deleting the run first); returns every task's state."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import clear_task_instances
    from airflow.sdk.definitions.dag import _run_task
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id=dag.dag_id, run_id=run_id).one()
        failed = [ti for ti in dag_run.get_task_instances(session=session) if ti.state == "failed"]
        cleared = {ti.task_id for ti in failed}
        for ti in failed:
            cleared |= {task.task_id for task in dag.get_task(ti.task_id).get_flat_relatives(upstream=False)}
        tis = [ti for ti in dag_run.get_task_instances(session=session) if ti.task_id in cleared]
        clear_task_instances(tis, session, dag_run_state=DagRunState.RUNNING)
    with create_session() as session:
        dag_run = session.query(DagRun).filter_by(dag_id=dag.dag_id, run_id=run_id).one()
        dag_run.dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
        while dag_run.state == DagRunState.RUNNING:
            session.expire_all()
            schedulable, _ = dag_run.update_state(session=session)
            for ti in schedulable:
                ti.try_number += 1
                ti.state = TaskInstanceState.SCHEDULED
            session.commit()
            for ti in schedulable:
                _run_task(ti=ti, task=dag.task_dict[ti.task_id])
        return {ti.task_id: ti.state for ti in dag_run.get_task_instances(session=session)}


def asset_events(run_id: str) -> dict[str, dict]:
    """The Asset events the run's tasks emitted: ``{asset uri: extra}``."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter_by(source_run_id=run_id).all()
        return {event.asset.uri: dict(event.extra or {}) for event in events}


def test_a_cleared_write_task_resumes_and_the_report_counts_every_row_once(
    sync_dag, sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store.sqlite"
    generate_store(store, StoreSize(products=30, customers=40, orders=250, carts=20))
    source = {"conn_type": "sqlite", "host": str(store)}
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", json.dumps(source))
    conf = {"full_refresh": True, "dry_run": False, "window_start": None, "window_end": None}
    conf |= {"objects": list(sync_dag.params.dump()["objects"]), "max_rejected_fraction": 0.01}
    # The first orders create lands; every later one is refused for a missing scope (the try fails at once).
    sandbox.fault(kind="delay", delay_ms=1, count=1, path="orders/batch/create")
    sandbox.fault(kind="status", status=403, count=1000, path="orders/batch/create")
    first = sync_dag.test(logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE, run_conf=conf)
    states = {ti.task_id: ti.state for ti in first.get_task_instances()}
    assert first.state == "failed" and states["create_orders"] == "failed"
    files = RunStorage.for_run(default_work_dir(), sync_dag.dag_id, first.run_id)
    landed = len(sandbox.dump("orders"))
    assert landed in (50, 100), "one batch of orders landed before the refusal"
    lines = report_lines(files)
    assert lines["orders"] == [250, 0, 0, 0, 0, 250], "the failed task's creates are unfinished"
    assert lines["products"] == [30, 30, 0, 0, 0, 0] and lines["contacts"] == [40, 40, 0, 0, 0, 0]
    assert lines["order_line_items"][1:5] == [0, 0, 0, 0] and lines["order_line_items"][5] > 0
    assert "(FAILED: create_orders)" in files.report.read_text()
    assert all(sum(counts[1:]) == counts[0] for counts in lines.values()), "every row counted once"

    sandbox.clear_faults()
    states = resume_cleared(sync_dag, first.run_id)
    assert states["create_orders"] == "success" and states["report"] == "success", states
    orders = sandbox.dump("orders")
    order_ids = [str(row[0]) for row in sqlite3.connect(store).execute("SELECT order_id FROM orders")]
    keys = [order["properties"]["airflow_source_key"] for order in orders]
    assert sorted(keys) == sorted(order_ids), "every order exactly once"
    text = files.report.read_text()
    assert "INCOMPLETE" not in text and "FAILED" not in text
    lines = report_lines(files)
    assert lines["orders"] == [250, 250, 0, 0, 0, 0], "the resumed orders count as created, once"
    assert lines["order_line_items"][:2] == [lines["order_line_items"][0]] * 2
    assert lines["products"] == [30, 30, 0, 0, 0, 0] and lines["contacts"] == [40, 40, 0, 0, 0, 0]
    line_items = len(sandbox.dump("line_items"))
    assert lines["order_line_items"][1] + lines["cart_line_items"][1] == line_items
    assert all(sum(counts[1:]) == counts[0] for counts in lines.values()), "every row counted once"

    events = asset_events(first.run_id)
    assert events["hubspot://crm/orders"]["created"] == 250 - landed
    assert events["hubspot://crm/orders"]["resumed"] == landed
    assert events["hubspot://crm/products"] == {
        "object_type": "products", "action": "upsert", "created": 30, "updated": 0, "existing": 0,
        "resumed": 0, "rejected": 0,
    }  # fmt: skip
