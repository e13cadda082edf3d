"""Mirror mode end to end: the real DAG with ``mirror: true`` on orders and their lines, against the sandbox.

The DAG file is the project's own; the mapping and queries come from Airflow's configuration
(``[hubspot_commerce] mapping_path`` and ``sql_dir``), as a user points the DAG at theirs: the default
mapping with orders mirrored (soft deletes through ``deleted_at``) and order lines mirrored.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_dag_commerce_sync_e2e import KEY, assert_hubspot_matches_store, by_key, rows, run

from hubspot_commerce.sync.resources import include_path

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]
DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def mirror_dag(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sync DAG with orders (soft deletes in ``deleted_at``, a new column of the store's orders), order
    lines and payments mirrored."""
    mapping = include_path("mappings", "commerce.yaml").read_text()
    mapping = mapping.replace(
        '    key: "{order_id}"\n', '    key: "{order_id}"\n    mirror: true\n    deleted_column: deleted_at\n'
    )
    mapping = mapping.replace(
        '    key: "order:{order_id}:{line_number}"\n',
        '    key: "order:{order_id}:{line_number}"\n    mirror: true\n',
    )
    mapping = mapping.replace('    key: "{payment_id}"\n', '    key: "{payment_id}"\n    mirror: true\n')
    assert mapping.count("mirror: true") == 3
    (tmp_path / "mapping.yaml").write_text(mapping)
    sql_dir = tmp_path / "sql"
    shutil.copytree(include_path("sql"), sql_dir)
    orders_sql = sql_dir / "orders.sql"
    orders_sql.write_text(
        orders_sql.read_text().replace("placed_at, updated_at", "placed_at, updated_at, deleted_at")
    )
    with sqlite3.connect(store) as db:
        db.execute("ALTER TABLE orders ADD COLUMN deleted_at TEXT")
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__MAPPING_PATH", str(tmp_path / "mapping.yaml"))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__SQL_DIR", str(sql_dir))
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["hubspot_commerce_sync"]
    assert {"mirror_orders", "mirror_order_line_items", "mirror_payments"} <= set(dag.task_ids)
    for task in dag.tasks:
        task.retries = 0
    return dag


def delete_orders(store: Path, order_ids: list[int]) -> None:
    """Delete orders from the source with their lines and payments (a hard delete)."""
    marks = ",".join("?" * len(order_ids))
    with sqlite3.connect(store) as db:
        for table in ("order_lines", "payments", "orders"):
            db.execute(f"DELETE FROM {table} WHERE order_id IN ({marks})", order_ids)


def order_contacts(sandbox: Any) -> dict[str, set[str]]:
    """Each order's source key -> the HubSpot ids of the contacts it is linked to."""
    return {
        record["properties"][KEY]: set(record["associations"].get("contacts", []))
        for record in sandbox.dump("orders")
    }


def mirrored(files: Any, stream: str) -> list[dict]:
    return [json.loads(line) for line in files.mirrored(stream).read_text().splitlines()]


def test_mirror_archives_deleted_orders_and_unlinks_a_moved_orders_old_contact(
    mirror_dag, store, sandbox, monkeypatch
) -> None:
    """Prepare plans 7 rows at a time here: the archive and unlink plans gather across its chunks."""
    monkeypatch.setattr("hubspot_commerce.sync.tasks.task_context.CHUNK_ROWS", 7)
    run(mirror_dag, {"full_refresh": True})
    contacts = {r["properties"]["email"]: r["id"] for r in sandbox.dump("contacts")}
    customers = {
        r["customer_id"]: contacts[r["email"].lower()] for r in rows(store, "SELECT * FROM customers")
    }
    deleted, moved = 100004, rows(store, "SELECT * FROM orders WHERE customer_id IS NOT NULL LIMIT 1")[0]
    new_customer = next(c for c in customers if c != moved["customer_id"])
    deleted_lines = {
        f"order:{deleted}:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines WHERE order_id = ?", deleted)
    }
    assert deleted_lines and str(deleted) in order_contacts(sandbox)
    deleted_payments = len(rows(store, "SELECT 1 FROM payments WHERE order_id = ?", deleted))
    delete_orders(store, [deleted])
    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET customer_id = ? WHERE order_id = ?", (new_customer, moved["order_id"]))
    before = sandbox.stats()["write_requests"]

    files = run(mirror_dag, {"full_refresh": True, "dry_run": True})
    assert sandbox.stats()["write_requests"] == before, "a dry run writes nothing"
    assert {(r["action"], r["key"]) for r in mirrored(files, "orders")} == {
        ("archive", str(deleted)),
        ("unlink", str(moved["order_id"])),
    }
    assert {r["key"] for r in mirrored(files, "order_line_items")} == deleted_lines
    assert "orders: 1 would be archived, 1 would be unlinked" in files.report.read_text()

    files = run(mirror_dag, {"full_refresh": True})
    orders = by_key(sandbox.dump("orders"))
    assert str(deleted) not in orders, "the deleted order is archived"
    assert not deleted_lines & set(by_key(sandbox.dump("line_items"))), "and its lines"
    assert order_contacts(sandbox)[str(moved["order_id"])] == {customers[new_customer]}, (
        "only the new contact"
    )
    assert customers[moved["customer_id"]] in {r["id"] for r in sandbox.dump("contacts")}, "the contact stays"
    assert "orders: 1 archived, 1 unlinked" in files.report.read_text()
    paid = len(rows(store, "SELECT 1 FROM payments WHERE order_id = ?", moved["order_id"]))
    assert f"payments: {deleted_payments} archived, {paid} unlinked" in files.report.read_text()
    assert_hubspot_matches_store(sandbox, store)

    before = sandbox.stats()["write_requests"]
    run(mirror_dag, {"full_refresh": True})
    assert sandbox.stats()["write_requests"] == before, "mirrored: the next run has nothing to do"


def test_a_soft_deleted_order_is_archived_with_its_lines_on_an_incremental_run(
    mirror_dag, store, sandbox
) -> None:
    run(mirror_dag, {"full_refresh": True})
    order_id = 100007
    lines = {
        f"order:{order_id}:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines WHERE order_id = ?", order_id)
    }
    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET updated_at = '2024-06-01 00:00:00'")
        db.execute("UPDATE payments SET updated_at = '2024-06-01 00:00:00'")
        db.execute(
            "UPDATE orders SET deleted_at = '2025-03-01 05:00:00', updated_at = '2025-03-01 05:00:00' "
            "WHERE order_id = ?",
            (order_id,),
        )
    window = {"window_start": "2025-03-01T00:00:00+00:00", "window_end": "2025-03-02T00:00:00+00:00"}
    before = sandbox.stats()["by_path"]
    files = run(mirror_dag, window)
    reads = [p for p, n in sandbox.stats()["by_path"].items() if "/batch/read" in p and n > before.get(p, 0)]
    assert reads == [], "the deleted rows' ids come from the sync state"
    assert str(order_id) not in by_key(sandbox.dump("orders"))
    assert not lines & set(by_key(sandbox.dump("line_items")))
    assert files.all_rejected.read_text() == "", "the deleted order's lines and payments are not rejected"
    assert "orders: 1 archived, 0 unlinked" in files.report.read_text()
    remaining = {
        str(r["order_id"]) for r in rows(store, "SELECT order_id FROM orders WHERE deleted_at IS NULL")
    }
    assert set(by_key(sandbox.dump("orders"))) == remaining
    recorded = rows(store, "SELECT * FROM hubspot_sync_state WHERE source_key = ?", str(order_id))[0]
    assert (recorded["outcome"], recorded["hubspot_id"]) == ("archived", None)

    with sqlite3.connect(store) as db:  # restored in the source: created anew, with its lines
        db.execute(
            "UPDATE orders SET deleted_at = NULL, updated_at = '2025-03-01 06:00:00' WHERE order_id = ?",
            (order_id,),
        )
    run(mirror_dag, window)
    assert str(order_id) in by_key(sandbox.dump("orders"))
    assert lines <= set(by_key(sandbox.dump("line_items")))
    assert_hubspot_matches_store(sandbox, store)


def test_the_guard_stops_a_mass_archive_until_a_run_confirms_it(mirror_dag, store, sandbox) -> None:
    run(mirror_dag, {"full_refresh": True})
    order_ids = [r["order_id"] for r in rows(store, "SELECT order_id FROM orders ORDER BY order_id LIMIT 20")]
    delete_orders(store, order_ids)
    held = set(by_key(sandbox.dump("orders")))

    files = run(mirror_dag, {"full_refresh": True}, expect="failed")
    assert set(by_key(sandbox.dump("orders"))) == held, "nothing archived"
    report = files.report.read_text()
    assert "mirror_orders" in report and "THE RUN IS INCOMPLETE" in report

    files = run(mirror_dag, {"full_refresh": True, "confirm_archive": True})
    assert set(by_key(sandbox.dump("orders"))) == held - {str(i) for i in order_ids}
    assert "orders: 20 archived" in files.report.read_text()
    assert_hubspot_matches_store(sandbox, store)
