"""The extract task on object storage: chunked tables other tasks read whole, a retry replacing its parts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import read_table, storage_path, write_json
from hubspot_commerce.sync.extract import Window
from hubspot_commerce.sync.tasks.extract_task import extract_step
from hubspot_commerce.sync.tasks.task_context import RunContext
from hubspot_commerce.sync.tasks.validate_task import validate_step


def test_extract_and_validate_on_s3_leave_tables_other_tasks_read_whole(
    source, store: Path, mapping, definitions, s3_dir: str
) -> None:
    """The run's directory on object storage (tasks on other workers read it): the chunked tables read back
    whole as ``prepare`` reads them, and a retried extract replaces its parts."""
    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET discount = NULL WHERE order_id <= 100007")
    files = RunStorage.for_run(s3_dir, "sync", "manual__2026-11-28T10:00:00+00:00")
    for object_type, object_definitions in definitions.items():
        write_json(files.definitions(object_type), object_definitions)
    window = Window(None, None, full_refresh=True)
    run = RunContext(mapping, files)
    extract_step(run, source, window, chunk_rows=7)
    assert len(list(files.source("orders").iterdir())) == 2, "discount: NULL, then numbers in a new part"
    counts = extract_step(run, source, window, chunk_rows=1000)  # a retry: one part
    counts |= validate_step(run, chunk_rows=7)
    source_orders = read_table(files.source("orders"))
    assert len(source_orders) == int(counts["orders"]) == 40 and source_orders["order_id"].is_unique
    accepted = read_table(storage_path(str(files.accepted("orders"))))
    assert accepted["key"].tolist() == source_orders["order_id"].astype(str).tolist()
    assert counts["orders.extracted"] == "40" and counts["orders.rejected"] == "0"
