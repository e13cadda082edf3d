"""The steps the DAG wires: setup against the sandbox, the source connection, extract and validate a chunk at
a time, ids from XCom, the report."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from hubspot_commerce.errors import HubSpotMissingScopes
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.storage import (
    read_json,
    read_jsonl,
    read_table,
    storage_path,
    write_json,
    write_jsonl,
    write_table,
)
from hubspot_commerce.sync import steps
from hubspot_commerce.sync.extract import Window, sql_source
from hubspot_commerce.sync.mapping import SyncMapping, load_mapping
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce.sync.run_storage import RunStorage
from hubspot_sandbox.process import SandboxProcess

OBJECT_TYPES = {"products", "contacts", "orders", "line_items", "commerce_payments", "carts"}
KEYED = {"orders", "line_items", "commerce_payments", "carts"}


@pytest.fixture
def files(tmp_path) -> RunStorage:
    return RunStorage.for_run(f"file://{tmp_path}", "sync", "manual__2026-11-28T10:00:00+00:00")


def _property_requests(sandbox) -> dict[str, int]:
    return {path: n for path, n in sandbox.stats()["by_path"].items() if "/properties/" in path}


def test_setup_reads_every_definition_once_and_creates_the_key_property(
    sandbox, hubspot_conn, mapping, files
):
    status = steps.setup_step(HubSpotHook(hubspot_conn), mapping, files, list(mapping.streams))
    assert status == dict.fromkeys(sorted(KEYED), "created")
    requests = _property_requests(sandbox)
    assert {p for p in requests if p.startswith("GET")} == {
        f"GET /crm/properties/2026-09/{t}" for t in OBJECT_TYPES
    }
    assert sum(n for p, n in requests.items() if p.startswith("POST")) == len(KEYED)
    for object_type in OBJECT_TYPES:
        names = {d["name"] for d in read_json(files.definitions(object_type))}
        assert ("airflow_source_key" in names) == (object_type in KEYED), object_type

    before = _property_requests(sandbox)
    again = steps.setup_step(HubSpotHook(hubspot_conn), mapping, files, list(mapping.streams))
    assert again == dict.fromkeys(sorted(KEYED), "present")
    added = {p: n - before.get(p, 0) for p, n in _property_requests(sandbox).items()}
    assert {p: n for p, n in added.items() if n} == {
        f"GET /crm/properties/2026-09/{t}": 1 for t in OBJECT_TYPES
    }


def test_a_dry_run_setup_creates_nothing(sandbox, hubspot_conn, mapping, files):
    status = steps.setup_step(HubSpotHook(hubspot_conn), mapping, files, written_streams=[])
    assert set(status.values()) == {"missing (not created: nothing of it is written)"}
    assert not any(path.startswith("POST /crm") for path in sandbox.stats()["by_path"])


def test_missing_scopes_are_all_named_before_anything_is_written(mapping, files, monkeypatch):
    """A token that may write products and contacts only: one message names every scope a full run needs
    and lacks; no property is created."""
    granted = "crm.objects.products.read,crm.objects.products.write,crm.objects.contacts.read"
    with SandboxProcess(tokens=[f"narrow-token:{granted}"]) as narrow:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HUBSPOT_NARROW",
            json.dumps({"conn_type": "hubspot", "host": narrow.url, "password": "narrow-token"}),
        )
        with pytest.raises(HubSpotMissingScopes) as caught:
            steps.setup_step(HubSpotHook("hubspot_narrow"), mapping, files, list(mapping.streams))
        assert not any(path.startswith("POST /crm") for path in narrow.stats()["by_path"])
    expected = ["crm.objects.contacts.write", "crm.objects.orders.write", "crm.schemas.orders.write"]
    assert set(expected) <= set(caught.value.scopes)
    assert "crm.objects.products.write" not in caught.value.scopes
    assert "crm.objects.carts.read" in caught.value.scopes and "crm.objects.carts.read" in str(caught.value)
    assert "nothing was written" in str(caught.value)


def test_a_connection_that_is_not_sql_is_refused_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", json.dumps({"conn_type": "hubspot", "password": "x"}))
    with pytest.raises(TypeError, match="connection 'shop' \\(type 'hubspot'\\) is not a SQL connection"):
        sql_source("shop")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOP", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.db")})
    )
    assert sql_source("shop").get_df("SELECT 1 AS one")["one"].tolist() == [1]


def test_referenced_ids_merge_prepare_and_write_values(files):
    large = write_json(files.stream_dir("orders") / "create_orders.ids.json", {"3": "13"})
    upstream = {
        "orders": [{"ids": {"1": "11"}}, {"ids": str(large), "created": 1}, None],  # None: a skipped write
        "contacts": [{"ids": {}}, None],
    }
    ids = steps.referenced_ids(upstream)
    keys = pd.Series(["1", "3", "2"])
    assert ids["orders"].lookup(keys).tolist() == ["11", "13", pd.NA] and len(ids["contacts"]) == 0


def _report(mapping, files, states: dict[str, str], writes: dict) -> tuple[str, list[str]]:
    for name in mapping.streams:
        if states.get(f"prepare_{name}") == "success":
            write_json(
                files.plan(name), {"create": 1, "update": 0, "unchanged": 2, "rejected": 0, "written": True}
            )
        write_table(files.source(name), pd.DataFrame({"key": ["1"]}))
    write_jsonl(files.rejected("orders", "validate"), [{"stream": "orders", "key": "9", "reason": "bad"}])
    validation = {**{f"{name}.extracted": "3" for name in mapping.streams}, "orders.rejected": "1"}
    params = {"dry_run": False, "objects": list(mapping.streams)}
    results = {"extract": {"window": "full refresh"}, "validate": validation, **writes}
    return steps.report_step(mapping, files, params, results, states)


def _line(text: str, stream: str) -> list[str]:
    return next(line for line in text.splitlines() if line.startswith(f"{stream} ")).split()


def test_report_writes_the_report_collects_rejections_and_drops_row_copies(mapping, files):
    states = {f"prepare_{name}": "success" for name in mapping.streams}
    writes = {"orders.create": {"created": 1, "rejected": 0}, "orders.update": None}
    text, failed = _report(mapping, files, states, writes)
    assert failed == []
    assert files.report.read_text() == text + "\n"
    assert _line(text, "orders")[2:] == ["3", "1", "0", "2", "1", "0"]
    assert read_jsonl(files.all_rejected) == [{"stream": "orders", "key": "9", "reason": "bad"}]
    assert not files.source("orders").exists(), "the run's copies of rows are gone"
    assert storage_path(str(files.report)).exists()


def test_a_failed_run_is_reported_with_what_did_not_finish_and_what_to_clear(mapping, files):
    """``create_orders`` failed: its lines and payments never ran; products and carts finished."""
    states = {f"prepare_{name}": "success" for name in ("products", "contacts", "orders", "carts")}
    states |= {"create_orders": "failed", "update_orders": "success", "upsert_products": "success"}
    states |= {"prepare_order_line_items": "upstream_failed", "create_order_line_items": "upstream_failed"}
    states |= {"prepare_payments": "upstream_failed"}
    writes = {"orders.create": None, "products.upsert": {"created": 2, "rejected": 0}}
    text, failed = _report(mapping, files, states, writes)
    assert failed == ["create_orders"]
    assert _line(text, "orders")[-2:] == ["(FAILED:", "create_orders)"]
    assert "(not run: an earlier task failed)" in " ".join(_line(text, "order_line_items"))
    assert "(not run: an earlier task failed)" in " ".join(_line(text, "payments"))
    assert _line(text, "products")[2:] == ["3", "2", "0", "2", "0", "0"]
    assert "THE RUN IS INCOMPLETE: create_orders failed" in text
    assert "clear the failed tasks with their downstream tasks" in text
    assert files.source("orders").exists(), "kept: clearing the failed task needs the run's rows"


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
    counts = {**steps.extract_step(source, mapping, window, files, chunk_rows)}
    counts |= steps.validate_step(mapping, files, chunk_rows)
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
    steps.extract_step(source, mapping, window, files, chunk_rows=7)
    assert len(list(files.source("orders").iterdir())) == 2, "discount: NULL, then numbers in a new part"
    counts = steps.extract_step(source, mapping, window, files, chunk_rows=1000)  # a retry: one part
    counts |= steps.validate_step(mapping, files, chunk_rows=7)
    source_orders = read_table(files.source("orders"))
    assert len(source_orders) == int(counts["orders"]) == 40 and source_orders["order_id"].is_unique
    accepted = read_table(storage_path(str(files.accepted("orders"))))
    assert accepted["key"].tolist() == source_orders["order_id"].astype(str).tolist()
    assert counts["orders.extracted"] == "40" and counts["orders.rejected"] == "0"
