"""The validate task, a chunk at a time after extract: what one chunk leaves, soft deletes included."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import read_json, read_jsonl, read_table, write_json
from hubspot_commerce.sync.extract import Window
from hubspot_commerce.sync.mapping import SyncMapping, load_mapping
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce.sync.tasks.extract_task import extract_step
from hubspot_commerce.sync.tasks.task_context import RunContext
from hubspot_commerce.sync.tasks.validate_task import validate_step

MIRROR = {  # the default mapping's key lines -> with orders and their lines mirrored
    '"{order_id}"\n': '"{order_id}"\n    mirror: true\n    deleted_column: deleted_at\n',
    '"order:{order_id}:{line_number}"\n': '"order:{order_id}:{line_number}"\n    mirror: true\n',
}


def _mirror_orders(tmp_path: Path, store: Path) -> SyncMapping:
    """The default mapping with orders and their lines mirrored, soft deletes in a new ``deleted_at`` column
    of the store's orders (as ``tests/dags/test_dag_mirror_e2e.py`` configures it)."""
    text = include_path("mappings", "commerce.yaml").read_text()
    for line, mirrored in MIRROR.items():
        text = text.replace(f"    key: {line}", f"    key: {mirrored}")
    (tmp_path / "mapping.yaml").write_text(text)
    sql_dir = tmp_path / "sql"
    shutil.copytree(include_path("sql"), sql_dir)
    orders = sql_dir / "orders.sql"
    orders.write_text(orders.read_text().replace("updated_at\n", "updated_at, deleted_at\n"))
    with sqlite3.connect(store) as db:
        db.execute("ALTER TABLE orders ADD COLUMN deleted_at TEXT")
    return load_mapping(tmp_path / "mapping.yaml", sql_dir)


def _extract_and_validate(source, mapping, definitions, root: Path, chunk_rows: int) -> dict[str, Any]:
    """What extract and validate leave in a run's storage, read back whole."""
    files = RunStorage.for_run(f"file://{root}", "sync", f"chunks-of-{chunk_rows}")
    for object_type, object_definitions in definitions.items():
        write_json(files.definitions(object_type), object_definitions)
    window = Window(None, None, full_refresh=True)
    run = RunContext(mapping, files)
    counts = {**extract_step(run, source, window, chunk_rows)}
    counts |= validate_step(run, chunk_rows)
    return {
        "counts": counts,
        "accepted": {name: read_table(files.accepted(name)) for name in mapping.streams},
        "rejected": {name: read_jsonl(files.rejected(name, "validate")) for name in mapping.streams},
        "deleted": {name: read_json(files.deleted(name)) for name in ("orders", "order_line_items")},
    }


def test_extract_and_validate_in_chunks_leave_what_one_chunk_leaves(
    source, store: Path, definitions, tmp_path: Path
) -> None:
    """Soft-deleted orders (their lines go with them), a rejected order, an email used twice, a line whose
    product is missing, all in different 7-row chunks: the run's accepted rows, rejected rows and deleted
    keys are those of one chunk."""
    mapping = _mirror_orders(tmp_path, store)
    with sqlite3.connect(store) as db:
        orders = [str(row[0]) for row in db.execute("SELECT order_id FROM orders ORDER BY rowid")]
        deleted, lost = [orders[3], orders[9], orders[10]], orders[15]
        db.execute(f"UPDATE orders SET deleted_at = '2025-03-01' WHERE order_id IN ({','.join(deleted)})")
        db.execute(f"UPDATE orders SET status = 'lost' WHERE order_id = {lost}")
        first_email = "(SELECT email FROM customers WHERE rowid = 2)"
        db.execute(f"UPDATE customers SET email = {first_email} WHERE rowid = 9")
        db.execute(f"UPDATE order_lines SET sku = 'GONE' WHERE order_id = {orders[30]} AND line_number = 1")
    chunked = _extract_and_validate(source, mapping, definitions, tmp_path / "chunked", 7)
    whole = _extract_and_validate(source, mapping, definitions, tmp_path / "whole", 1_000_000)
    assert chunked["counts"] == whole["counts"]
    assert chunked["rejected"] == whole["rejected"] and chunked["deleted"] == whole["deleted"]
    for name in mapping.streams:
        pd.testing.assert_frame_equal(chunked["accepted"][name], whole["accepted"][name], obj=name)

    assert chunked["deleted"]["orders"] == deleted and chunked["counts"]["orders.deleted"] == "3"
    assert {key.split(":")[1] for key in chunked["deleted"]["order_line_items"]} == set(deleted)
    rows = [row for stream_rows in chunked["rejected"].values() for row in stream_rows]
    reasons = {(row["stream"], row["key"]): row["reason"] for row in rows}
    assert reasons["orders", lost].startswith("hs_pipeline_stage: 'lost' is not one of its options")
    assert reasons["order_line_items", f"order:{lost}:1"] == f"order '{lost}' was rejected"
    assert reasons["contacts", "9"].endswith("is also used by source key 2")
    assert reasons["order_line_items", f"order:{orders[30]}:1"] == "product 'GONE' is missing from the source"
