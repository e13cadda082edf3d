"""hubspot_commerce_sync end to end: the real DAG (``dag.test``) against the sandbox over HTTP.

Expected HubSpot state is computed from the SQLite store directly (not through the mapping code), and
HubSpot's state is compared record by record: through its public API (``check_graph``, the check ``make
distributed`` runs) and, for both directions of every link, through the sandbox's dump.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import default_work_dir
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce_lab.distributed.graph_check import STAGES, check_graph, same_amount
from hubspot_commerce_lab.distributed.hubspot_reader import HubSpotReader
from hubspot_sandbox.process import SandboxProcess

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]

KEY = "airflow_source_key"
# HUBSPOT_DEFINED association type of each (from, to) direction the sync creates (HubSpot stores both sides of
# a link, each with its own id); any other pair, or another type on a listed pair, is wrong.
ASSOCIATION_TYPE_IDS = {
    ("orders", "contacts"): 507,
    ("contacts", "orders"): 508,
    ("orders", "line_items"): 513,
    ("line_items", "orders"): 514,
    ("orders", "commerce_payments"): 523,
    ("commerce_payments", "orders"): 524,
    ("commerce_payments", "contacts"): 387,
    ("contacts", "commerce_payments"): 388,
    ("carts", "contacts"): 586,
    ("contacts", "carts"): 587,
    ("carts", "line_items"): 590,
    ("line_items", "carts"): 591,
}
LAST_STATES: dict[str, str] = {}  # task id -> state in the last run() (write tasks are skipped when gated)


def run(dag: Any, conf: dict[str, Any], *, expect: str = "success", **kwargs: Any) -> RunStorage:
    """One DAG run, which must end ``expect``. Returns the run's files (report, rejected rows).

    Every Param is passed: ``dag.test`` on one DAG object carries an earlier run's conf into later runs.
    """
    defaults = {
        "dry_run": False,
        "full_refresh": False,
        "window_start": None,
        "window_end": None,
        "objects": list(dag.params.dump()["objects"]),
        "max_rejected_fraction": dag.params.dump()["max_rejected_fraction"],
        "confirm_archive": False,
        "reconcile": False,
    }
    dag_run = dag.test(run_conf={**defaults, **conf}, **kwargs)
    assert dag_run.state == expect, f"DAG run {dag_run.run_id} ended {dag_run.state}"
    LAST_STATES.clear()
    LAST_STATES.update({ti.task_id: ti.state for ti in dag_run.get_task_instances()})
    return RunStorage.for_run(default_work_dir(), dag.dag_id, dag_run.run_id)


def rows(store: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    db = sqlite3.connect(store)
    db.row_factory = sqlite3.Row
    return db.execute(sql, args).fetchall()


def by_key(records: list[dict], prop: str = KEY) -> dict[str, dict]:
    """Sandbox records by a property; a duplicate would be a duplicated record, which must never happen."""
    result: dict[str, dict] = {}
    for record in records:
        value = record["properties"].get(prop)
        assert value not in result, f"two records with {prop}={value}"
        result[value] = record
    return result


def assert_hubspot_matches_store(
    sandbox: Any, store: Path, excluded: dict[str, set[str]] | None = None
) -> None:
    """Every source record is in HubSpot exactly once with exact values and exactly its links, read through
    HubSpot's public API: the check ``make distributed`` runs. ``excluded`` rows must be absent."""
    result = check_graph(HubSpotReader(sandbox.url, sandbox.token), store, excluded)
    assert result.ok, result.describe()
    assert result.checked["orders"] == len(rows(store, "SELECT 1 FROM orders")) - len(
        (excluded or {}).get("orders", set())
    )


def assert_association_types(sandbox: Any) -> None:
    """Every link of every order, line item, payment, cart and contact has exactly its direction's type id."""
    seen = set()
    for from_type in ("orders", "line_items", "commerce_payments", "carts", "contacts"):
        for record in sandbox.dump(from_type):
            types = record["association_types"]
            where = f"{from_type} {record['id']}"
            assert {to: sorted(ids, key=int) for to, ids in types.items()} == record["associations"], where
            for to_type, targets in types.items():
                expected = ASSOCIATION_TYPE_IDS.get((from_type, to_type))
                assert expected is not None, f"{where}: unexpected link to {to_type}"
                for to_id, type_ids in targets.items():
                    assert type_ids == [expected], f"{where} -> {to_type} {to_id}: {type_ids}"
                seen.add((from_type, to_type))
    assert seen == set(ASSOCIATION_TYPE_IDS), "every kind of link was checked at least once"


def report_counts(files: RunStorage) -> dict[str, list[int]]:
    """Report lines by stream: [extracted, created, updated, unchanged, rejected]."""
    counts = {}
    for line in files.report.read_text().splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[2].isdigit():  # the five counts; unfinished is 0 when nothing failed
            counts[parts[0]] = [int(n) for n in parts[2:7]]
    return counts


def portal_changes(paths: Iterable[str]) -> list[str]:
    """The requests (sandbox route names) that can change the portal: every one but reads (GET, batch reads)
    and the token's introspection (a POST that reads)."""
    return [
        path
        for path in paths
        if not path.startswith("GET ") and " /oauth/" not in path and not path.endswith("/batch/read")
    ]


def assert_ends_with_cause(files: RunStorage, out: str, task: str, cause: str, advice: str) -> None:
    """A failed run's report ends with the failed task, its exception and message (``cause``: how they start)
    and what to do, and so does the run's last exception; no read of a task that never ran logged an "XCom
    not found" error."""
    lines = files.report.read_text().splitlines()
    assert lines[-5] == f"THE RUN IS INCOMPLETE: {task} failed."
    assert lines[-4].startswith(f"{task}: {cause}"), lines[-4]
    assert lines[-3:-1] == [
        f"  fix: {advice}",
        f"Then clear {task} with its downstream tasks (Clear, with 'Downstream'): records that landed",
    ]
    last = out[out.rindex("AirflowFailException: ") :].splitlines()[0]
    assert last.startswith(f"AirflowFailException: {task} failed: {cause}"), last
    assert last.endswith(f". Fix: {advice}, then clear {task} with its downstream tasks."), last
    assert "XCom not found" not in out


def assert_one_path_family(paths: Iterable[str], api_version: str) -> None:
    """Every CRM request of the run went to the paths of ``api_version``; the only OAuth requests are the
    token introspection, which has no date-versioned form."""
    crm = [path.split(" ", 1)[1] for path in paths if " /crm/" in path]
    numbered = [path for path in crm if re.match(r"/crm/v\d+/", path)]
    assert any("/batch/create" in path for path in crm), "the run's writes are among them"
    assert numbered == (crm if api_version == "v3" else []), "one path family per version"
    assert all(f"/{api_version}/" in path for path in crm if path not in numbered)
    oauth = {path.split(" ", 1)[1] for path in paths if " /oauth/" in path}
    assert oauth == {"/oauth/v2/private-apps/get/access-token-info"}, "only the token's scopes"


@pytest.mark.parametrize("hubspot_conn", ["2026-09", "v3"], indirect=True)
def test_full_sync_lands_everything_linked_and_a_rerun_writes_nothing(
    sync_dag, store, sandbox, request, monkeypatch
) -> None:
    """The connection's ``api_version``: HubSpot's date-versioned paths (the default) or the numbered ones
    that retire in 2027; either way the same records and links land. On the rerun every record exists, and
    prepare's id maps above 5 ids travel as JSON-lines files, as a store of millions needs."""
    monkeypatch.setattr("hubspot_commerce.sync.plan_files.MAX_INLINE_IDS", 5)
    api_version = request.node.callspec.params["hubspot_conn"]
    files = run(sync_dag, {"full_refresh": True})
    assert_one_path_family(sandbox.stats()["by_path"], api_version)
    assert_hubspot_matches_store(sandbox, store)
    assert_association_types(sandbox)
    counts = report_counts(files)
    assert counts["orders"] == [60, 60, 0, 0, 0]
    assert counts["cart_line_items"][1] == len(rows(store, "SELECT 1 FROM cart_lines"))
    assert files.all_rejected.read_text() == ""
    assert not files.source("orders").exists(), "the run's copies of source rows are removed after the report"
    assert (
        f"rejected rows (source key and reason, JSON lines): {files.all_rejected}" in files.report.read_text()
    )

    before = sandbox.stats()
    files = run(sync_dag, {"full_refresh": True})
    after = sandbox.stats()
    assert after["write_requests"] == before["write_requests"], "an unchanged re-run must not write"
    reads = {p: n - before["by_path"].get(p, 0) for p, n in after["by_path"].items()}
    reads = {p: n for p, n in reads.items() if n and "/batch/read" in p}
    assert reads == {}, "planned from the sync state: not one record read from HubSpot"
    assert after["requests"] - before["requests"] <= 10, "setup's property and pipeline reads only"
    writers = [t for t in LAST_STATES if t.startswith(("upsert_", "create_", "update_"))]
    assert all(LAST_STATES[t] == "skipped" for t in writers), "nothing written: no write task, no Asset event"
    assert all(c[1] == c[2] == 0 and c[3] == c[0] for c in report_counts(files).values())
    existing = map(json.loads, files.existing_ids("orders").read_text().splitlines())
    hubspot_ids = {key: record["id"] for key, record in by_key(sandbox.dump("orders")).items()}
    assert {row["key"]: row["id"] for row in existing} == hubspot_ids and len(hubspot_ids) == 60
    assert_hubspot_matches_store(sandbox, store)
    assert_association_types(sandbox)


def test_incremental_window_updates_only_changed_rows(sync_dag, store, sandbox) -> None:
    run(sync_dag, {"full_refresh": True})
    db = sqlite3.connect(store)
    db.execute("UPDATE orders SET updated_at = '2024-06-01 00:00:00'")
    db.execute("UPDATE payments SET updated_at = '2024-06-01 00:00:00'")
    db.execute("UPDATE carts SET updated_at = '2024-06-01 00:00:00'")
    db.execute("UPDATE products SET updated_at = '2024-06-01 00:00:00'")
    db.execute("UPDATE customers SET updated_at = '2024-06-01 00:00:00'")
    original_status = db.execute("SELECT status FROM orders WHERE order_id = 100001").fetchone()[0]
    assert original_status != "shipped"
    # A changed order (status and total) before the scheduled window, inside the Param window; a new order
    # with one line inside both.
    db.execute(
        "UPDATE orders SET status = 'shipped', total = total + 1.10, tax = tax + 1.10, "
        "updated_at = '2025-03-01 01:00:00' WHERE order_id = 100001"
    )
    db.execute(
        "INSERT INTO orders VALUES (900001, NULL, 'SO-900001', 'open', 'USD', 5, 0, 0, 0, 5, "
        "'2025-03-01 09:00:00', '2025-03-01 09:00:00')"
    )
    db.execute("INSERT INTO order_lines VALUES (900001, 1, 'SKU-00001', 1, 5, NULL)")
    # An anonymous cart whose customer logged in: only the Param window sees it.
    cart_id, customer = db.execute(
        "SELECT cart_id, (SELECT customer_id FROM customers LIMIT 1) FROM carts WHERE customer_id IS NULL"
    ).fetchone()
    db.execute(
        "UPDATE carts SET customer_id = ?, updated_at = '2025-03-01 02:00:00' WHERE cart_id = ?",
        (customer, cart_id),
    )
    # Outside the window: a changed product name that this run must not see.
    db.execute(
        "UPDATE products SET name = 'Renamed', updated_at = '2025-03-05 00:00:00' WHERE sku = 'SKU-00002'"
    )
    db.commit()
    before = sandbox.stats()
    # The data interval [Mar 1 03:00, Mar 2 03:00), as a scheduled run or a backfill of that day syncs it
    # (a manual run at a date gets the interval that ends there).
    files = run(sync_dag, {}, logical_date=datetime(2025, 3, 2, 3, tzinfo=UTC))
    assert "2025-03-01T03:00:00+00:00 .. 2025-03-02T03:00:00+00:00" in files.report.read_text()
    after = sandbox.stats()
    counts = report_counts(files)
    assert counts["orders"] == [1, 1, 0, 0, 0], (
        "only the new order: 100001 changed at 01:00, before the window"
    )
    assert counts["order_line_items"][1] == 1
    orders = by_key(sandbox.dump("orders"))
    assert orders["900001"]["properties"]["hs_total_price"] == "5"
    assert orders["100001"]["properties"]["hs_external_order_status"] == original_status

    files = run(
        sync_dag, {"window_start": "2025-03-01T00:00:00+00:00", "window_end": "2025-03-02T00:00:00+00:00"}
    )
    counts = report_counts(files)
    assert counts["orders"][0] == 2 and counts["orders"][1:4] == [0, 1, 1]
    assert counts["products"][2] == 0, "SKU-00002 changed outside the window"
    assert counts["carts"] == [1, 0, 1, 0, 0], "the cart gained its contact link"
    email = rows(store, "SELECT email FROM customers WHERE customer_id = ?", customer)[0]["email"].lower()
    contact_id = by_key(sandbox.dump("contacts"), "email")[email]["id"]
    assert by_key(sandbox.dump("carts"))[str(cart_id)]["associations"]["contacts"] == [contact_id]
    orders = by_key(sandbox.dump("orders"))
    changed = orders["100001"]["properties"]
    assert changed["hs_external_order_status"] == "shipped"
    assert changed["hs_pipeline_stage"] == STAGES["shipped"]
    source_total = rows(store, "SELECT total FROM orders WHERE order_id = 100001")[0]["total"]
    assert same_amount(changed["hs_total_price"], source_total)
    assert by_key(sandbox.dump("products"), "hs_sku")["SKU-00002"]["properties"]["name"] != "Renamed"
    assert after["write_requests"] > before["write_requests"]
    assert len(orders) == 61


def test_dry_run_writes_nothing(sync_dag, store, sandbox, capfd) -> None:
    files = run(sync_dag, {"full_refresh": True, "dry_run": True})
    assert "XCom not found" not in capfd.readouterr().out, "prepare reads only the writes that ran"
    stats = sandbox.stats()
    assert stats["write_requests"] == 0
    assert not any(route.startswith("POST /crm/properties/") for route in stats["by_path"])
    assert any(route.startswith("GET /crm/properties/2026-09/") for route in stats["by_path"]), (
        "validation reads"
    )
    for object_type in ("products", "contacts", "orders", "line_items", "commerce_payments", "carts"):
        assert sandbox.dump(object_type) == [], object_type
    text = files.report.read_text()
    assert "DRY RUN" in text
    writers = [t for t in LAST_STATES if t.startswith(("upsert_", "create_", "update_"))]
    assert len(writers) == 12 and all(LAST_STATES[t] == "skipped" for t in writers), (
        "no write, no Asset event"
    )
    assert report_counts(files)["orders"] == [60, 60, 0, 0, 0]
    tables = rows(store, "SELECT name FROM sqlite_master WHERE type = 'table'")
    assert "hubspot_sync_state" not in {t["name"] for t in tables}, "planned as if empty; nothing created"


def test_objects_param_writes_only_the_chosen_streams(sync_dag, store, sandbox) -> None:
    files = run(sync_dag, {"full_refresh": True, "objects": ["products", "contacts", "orders"]})
    assert len(sandbox.dump("products")) == 30 and len(sandbox.dump("orders")) == 60
    for object_type in ("line_items", "commerce_payments", "carts"):
        assert sandbox.dump(object_type) == [], object_type
    report = files.report.read_text()
    assert "payments" in report and report.count("(not selected: nothing written)") == 4
    assert LAST_STATES["create_orders"] == "success" and LAST_STATES["create_payments"] == "skipped"
    assert LAST_STATES["prepare_payments"] == "success", "unselected streams are still planned (and reported)"
    # Orders alone later: the new order links to the contact the first run created.
    db = sqlite3.connect(store)
    db.execute(
        "INSERT INTO orders SELECT 900002, customer_id, 'SO-900002', 'open', 'USD', 1, 0, 0, 0, 1, "
        "'2025-01-01 00:00:00', '2025-01-01 00:00:00' FROM orders WHERE customer_id IS NOT NULL LIMIT 1"
    )
    db.execute("INSERT INTO order_lines VALUES (900002, 1, 'SKU-00003', 1, 1, NULL)")
    db.commit()
    run(sync_dag, {"full_refresh": True, "objects": ["orders"]})
    new = by_key(sandbox.dump("orders"))["900002"]
    assert len(new["associations"]["contacts"]) == 1
    assert sandbox.dump("line_items") == []


def test_manual_run_without_logical_date_syncs_the_last_day(sync_dag, store, sandbox) -> None:
    files = run(sync_dag, {}, logical_date=None)
    # The store's rows are all from 2025, so the day before now holds nothing; the run still succeeds.
    assert all(c == [0, 0, 0, 0, 0] for c in report_counts(files).values())
    assert "window: " in files.report.read_text() and "full refresh" not in files.report.read_text()


def test_hubspot_option_values_and_labels_land_without_a_mapping_entry(sync_dag, store, sandbox) -> None:
    """A store already using HubSpot's option values, or their labels in any case, needs no ``values:``
    entry: values pass as they are, labels (stage labels too) become internal values, nothing is rejected."""
    db = sqlite3.connect(store)
    # (table, column, property, rows counted from the end, [(source value, the value HubSpot must hold)])
    cases = [
        ("products", "product_type", "hs_product_type", False,
         [("inventory", "inventory"), ("non_inventory", "non_inventory"), ("Service", "service"),
          ("NON INVENTORY", "non_inventory")]),
        ("payments", "method", "hs_payment_method_type", False,
         [("wire_transfer", "wire_transfer"), ("sepa", "sepa"), ("bacs", "bacs"), ("pads", "pads"),
          ("other", "other"), ("Wire transfer", "wire_transfer")]),
        ("payments", "status", "hs_latest_status", True,
         [("processing", "processing"), ("partially_refunded", "partially_refunded"),
          ("Partially refunded", "partially_refunded")]),
    ]  # fmt: skip
    expected: list[tuple[str, int, str, str]] = []
    for table, column, prop, from_end, pairs in cases:
        order = "DESC" if from_end else "ASC"
        sql = f"SELECT rowid FROM {table} ORDER BY rowid {order} LIMIT {len(pairs)}"
        ids = [r[0] for r in db.execute(sql)]
        for rowid, (value, internal) in zip(ids, pairs, strict=True):
            db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", (value, rowid))
            expected.append((table, rowid, prop, internal))
    db.execute("UPDATE orders SET status = 'SHIPPED' WHERE order_id = 100001")
    db.commit()
    files = run(sync_dag, {"full_refresh": True})
    assert files.all_rejected.read_text() == ""
    assert_hubspot_matches_store(sandbox, store)  # the order's stage is Shipped's id
    hubspot = {
        "products": by_key(sandbox.dump("products"), "hs_sku"),
        "payments": by_key(sandbox.dump("commerce_payments")),
    }
    for table, rowid, prop, internal in expected:
        row = rows(store, f"SELECT * FROM {table} WHERE rowid = ?", rowid)[0]
        key = row["sku"] if table == "products" else row["payment_id"]
        assert hubspot[table][key]["properties"][prop] == internal, (table, key, prop)


def test_bad_rows_are_rejected_and_the_rest_lands(sync_dag, store, sandbox, monkeypatch) -> None:
    """Prepare plans 7 rows at a time here: rejections and links hold across its chunks."""
    monkeypatch.setattr("hubspot_commerce.sync.tasks.task_context.CHUNK_ROWS", 7)
    db = sqlite3.connect(store)
    db.execute("UPDATE order_lines SET sku = 'SKU-GONE' WHERE order_id = 100002 AND line_number = 1")
    db.execute("UPDATE orders SET status = 'lost' WHERE order_id = 100003")
    db.execute(
        "INSERT INTO payments VALUES ('PAY-ORPHAN', 999999, 10, 'USD', 'card', 'succeeded', "
        "'2025-02-01 00:00:00', 'ref', '2025-02-01 00:00:00')"
    )
    customer = db.execute(
        "SELECT customer_id FROM orders WHERE customer_id IS NOT NULL AND order_id > 100003 LIMIT 1"
    ).fetchone()[0]
    db.execute("UPDATE customers SET email = NULL WHERE customer_id = ?", (customer,))
    db.commit()
    files = run(sync_dag, {"full_refresh": True, "max_rejected_fraction": 0.2})
    rejected = {
        (row["stream"], row["key"]): row["reason"]
        for row in map(json.loads, files.all_rejected.read_text().splitlines())
    }
    assert rejected[("order_line_items", "order:100002:1")] == "product 'SKU-GONE' is missing from the source"
    assert rejected[("orders", "100003")].startswith(
        "hs_pipeline_stage: 'lost' is not one of its options (4b27b500-f031-4927-9811-68a0b525cbae (Open), "
    )
    assert rejected[("payments", "PAY-ORPHAN")] == "order '999999' is missing from the source"
    assert rejected[("contacts", str(customer))] == "required property email is missing"
    orders_of_customer = {
        str(r["order_id"]) for r in rows(store, "SELECT order_id FROM orders WHERE customer_id = ?", customer)
    }
    for order_id in orders_of_customer:
        assert rejected[("orders", order_id)] == f"contact '{customer}' was rejected"
    rejected_orders = orders_of_customer | {"100003"}
    rejected_lines = {key for stream, key in rejected if stream == "order_line_items"}
    assert rejected_lines == {"order:100002:1"} | {
        f"order:{r['order_id']}:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines")
        if str(r["order_id"]) in rejected_orders
    }
    rejected_payments = {key for stream, key in rejected if stream == "payments"}
    excluded = {
        "orders": rejected_orders,
        "order_line_items": rejected_lines,
        "payments": rejected_payments,
        "contacts": {str(customer)},
    }
    carts_of_customer = rows(store, "SELECT cart_id FROM carts WHERE customer_id = ?", customer)
    assert not carts_of_customer, "the chosen customer has no cart (the store is deterministic)"
    assert_hubspot_matches_store(sandbox, store, excluded)
    assert str(files.all_rejected) in files.report.read_text()


def test_a_portal_rule_rejects_exactly_the_rows_that_break_it_naming_the_rule(
    sync_dag, store, sandbox
) -> None:
    """From 2026-09 on HubSpot enforces the portal's conditional required properties on API writes: here a
    cancelled order needs a note, which the store does not have. Exactly the cancelled orders are refused,
    each with the rule named; their lines and payments are rejected for it; everything else lands."""
    rule = {"when": "hs_external_order_status", "equals": "cancelled", "require": "hs_order_note"}
    sandbox.set_rules("orders", conditional_required=[rule])
    files = run(sync_dag, {"full_refresh": True, "max_rejected_fraction": 0.2})
    cancelled = {
        str(r["order_id"]) for r in rows(store, "SELECT order_id FROM orders WHERE status = 'cancelled'")
    }
    refused_file = files.stream_dir("orders") / "create_orders.rejected.jsonl"
    refused = {row["key"]: row for row in map(json.loads, refused_file.read_text().splitlines())}
    assert set(refused) == cancelled and len(cancelled) == 6
    for row in refused.values():
        assert (row["category"], row["code"]) == ("VALIDATION_ERROR", "MISSING_CONDITIONAL_REQUIRED_PROPERTY")
        assert "hs_order_note is required because of a conditional property rule based on " in row["message"]
        assert "[hs_external_order_status]" in row["message"]
    report = files.report.read_text()
    assert f"rejected by HubSpot: {refused_file}" in report
    assert report_counts(files)["orders"] == [60, 54, 0, 0, 6]
    rejected = {(r["stream"], r["key"]) for r in map(json.loads, files.all_rejected.read_text().splitlines())}
    lines = {
        f"order:{r['order_id']}:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines")
        if str(r["order_id"]) in cancelled
    }
    payments = {
        r["payment_id"] for r in rows(store, "SELECT * FROM payments") if str(r["order_id"]) in cancelled
    }
    assert rejected == {("order_line_items", key) for key in lines} | {("payments", key) for key in payments}
    excluded = {"orders": cancelled, "order_line_items": lines, "payments": payments}
    assert_hubspot_matches_store(sandbox, store, excluded)


def test_a_stream_with_too_many_rejected_rows_is_not_written_and_the_report_says_so(
    sync_dag, store, sandbox, capfd
) -> None:
    """One contact of 40 without an email is 2.5% of the stream, above the default 1%: contacts fail before
    any is written, the streams that need them do not run, the report still comes, and the run fails."""
    db = sqlite3.connect(store)
    db.execute(
        "UPDATE customers SET email = NULL WHERE customer_id = (SELECT MIN(customer_id) FROM customers)"
    )
    db.commit()
    files = run(sync_dag, {"full_refresh": True}, expect="failed")
    assert LAST_STATES["prepare_contacts"] == "failed" and LAST_STATES["report"] == "failed"
    assert LAST_STATES["upsert_products"] == "success", "streams that do not need contacts land"
    assert sandbox.dump("contacts") == [] and sandbox.dump("orders") == []
    assert len(sandbox.dump("products")) == 30
    report = files.report.read_text()
    assert (
        "(FAILED: prepare_contacts)" in report and "THE RUN IS INCOMPLETE: prepare_contacts failed" in report
    )
    assert "(not run: an earlier task failed)" in next(
        line for line in report.splitlines() if line.startswith("orders ")
    )
    rejected = [json.loads(line) for line in files.all_rejected.read_text().splitlines()]
    assert [row["reason"] for row in rejected if row["stream"] == "contacts"] == [
        "required property email is missing"
    ]
    cause = (
        "SourceRowsRejected: contacts: 1 of 40 rows were rejected before sending (allowed fraction 0.01), so "
        f"none of contacts is written. Reasons per row: {files.rejected('contacts', 'validate')} and "
    )
    advice = "fix the rows in the files it names, or raise max_rejected_fraction"
    assert_ends_with_cause(files, capfd.readouterr().out, "prepare_contacts", cause, advice)


def test_a_missing_source_connection_fails_at_once_naming_it(
    sync_dag, store, sandbox, monkeypatch, capfd
) -> None:
    """Retries are on (3, two minutes apart), but a connection that does not exist fails the first try."""
    monkeypatch.delenv("AIRFLOW_CONN_COMMERCE_SOURCE")
    monkeypatch.setattr(sync_dag.get_task("extract"), "retries", 3)
    started = time.monotonic()
    files = run(sync_dag, {"full_refresh": True}, expect="failed")
    assert time.monotonic() - started < 30
    assert LAST_STATES["extract"] == "failed" and LAST_STATES["validate"] == "upstream_failed"
    cause = "AirflowNotFoundException: The conn_id `commerce_source` isn't defined"
    advice = (
        "define the connection it names where the tasks run (Admin > Connections, a secrets backend or an "
        "AIRFLOW_CONN_<ID> variable)"
    )
    assert_ends_with_cause(files, capfd.readouterr().out, "extract", cause, advice)
    paths = sandbox.stats()["by_path"]
    assert not [path for path in paths if "/objects/" in path], "no record was read or written"
    assert LAST_STATES["setup"] == "success" and "GET /crm/properties/2026-09/orders" in paths
    assert portal_changes(paths) == [], "setup read the portal and changed nothing (no key property)"


@pytest.fixture
def unknown_property_dag(sync_dag: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sync DAG with a mapping that sends orders' number to a property the portal does not have."""
    from airflow.dag_processing.dagbag import DagBag

    mapping = include_path("mappings", "commerce.yaml").read_text()
    assert "      hs_order_name: {column: order_number" in mapping
    mapping = mapping.replace("hs_order_name: {column: order_number", "hs_order_title: {column: order_number")
    (tmp_path / "mapping.yaml").write_text(mapping)
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__MAPPING_PATH", str(tmp_path / "mapping.yaml"))
    bag = DagBag(dag_folder=sync_dag.fileloc)
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags[sync_dag.dag_id]
    for task in dag.tasks:
        task.retries = 0
    return dag


def test_a_run_that_fails_validation_changes_nothing_in_the_portal(
    unknown_property_dag, store, sandbox, capfd
) -> None:
    """setup and extract pass, validate finds a mapped property the portal lacks: no key property is
    created, nothing else is written."""
    run(unknown_property_dag, {"full_refresh": True}, expect="failed")
    assert LAST_STATES["setup"] == LAST_STATES["extract"] == "success" and LAST_STATES["validate"] == "failed"
    assert LAST_STATES["plan_quota"] == "upstream_failed"
    assert "stream orders: orders has no property hs_order_title in HubSpot" in capfd.readouterr().out
    paths = sandbox.stats()["by_path"]
    assert "GET /crm/properties/2026-09/orders" in paths, "setup read the definitions"
    assert portal_changes(paths) == [] and sandbox.stats()["write_requests"] == 0
    reader = HubSpotReader(sandbox.url, sandbox.token)
    for object_type in ("orders", "line_items", "commerce_payments", "carts"):
        names = {p["name"] for p in reader.call("GET", f"/crm/v3/properties/{object_type}")["results"]}
        assert "hs_object_id" in names and KEY not in names, object_type


def test_a_window_with_one_end_fails_the_first_tasks_before_any_hubspot_request(
    sync_dag, store, sandbox, capfd
) -> None:
    """A date is a valid window end now; one end alone fails setup and extract in one sentence, and HubSpot
    is never asked anything."""
    run(sync_dag, {"window_start": "2025-01-01"}, expect="failed")
    assert LAST_STATES["setup"] == LAST_STATES["extract"] == "failed"
    assert sandbox.stats()["by_path"] == {}
    out = capfd.readouterr().out
    assert (
        "The run was given window_start '2025-01-01' but no window_end: trigger it again with both ends of "
        "the window (e.g. window_start 2025-03-01 and window_end 2025-03-02) or neither (the run's data "
        "interval)."
    ) in out


def test_a_token_missing_scopes_fails_setup_before_any_write_naming_them_all(
    sync_dag, store, monkeypatch, capfd
) -> None:
    """The token may read and write products and contacts only: setup names every missing scope once,
    grouped, with their number, and nothing is written (the key property is not created either)."""
    granted = ",".join(
        f"crm.objects.{name}.{access}" for name in ("products", "contacts") for access in ("read", "write")
    )
    with SandboxProcess(tokens=[f"narrow-token:{granted}"]) as narrow:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HUBSPOT_DEFAULT",
            json.dumps({"conn_type": "hubspot", "host": narrow.url, "password": "narrow-token"}),
        )
        files = run(sync_dag, {"full_refresh": True}, expect="failed")
        paths = narrow.stats()["by_path"]
    assert LAST_STATES["setup"] == "failed" and LAST_STATES["upsert_products"] == "upstream_failed"
    assert not [path for path in paths if path.startswith("POST /crm")], "no record, no property written"
    out = capfd.readouterr().out
    assert (
        "The token of connection 'hubspot_default' lacks 12 scopes: records crm.objects.carts.read, "
        "crm.objects.carts.write, crm.objects.commercepayments.read, crm.objects.commercepayments.write, "
        "crm.objects.line_items.read, crm.objects.line_items.write, crm.objects.orders.read, "
        "crm.objects.orders.write; schemas crm.schemas.carts.write, crm.schemas.commercepayments.write, "
        "crm.schemas.line_items.write, crm.schemas.orders.write; add them to the private app, service key or "
        "OAuth app in HubSpot and run again (nothing was written)."
    ) in out
    advice = "add the missing scopes to the app or key in HubSpot and update the connection"
    assert_ends_with_cause(files, out, "setup", "HubSpotMissingScopes: ", advice)


def test_airflow_dags_test_ends_with_the_cause_when_a_mapped_property_is_missing_in_the_portal(
    store, sandbox, tmp_path
) -> None:
    """The command a new user runs first, as a subprocess: validate fails on a property the portal lacks.
    The last 15 lines of ``airflow dags test`` name the task, the exception, its message and what to do; no
    "XCom not found" error appears; the report counts the rows extract read as unfinished."""
    mapping = include_path("mappings", "commerce.yaml").read_text()
    mapping = mapping.replace(
        "      description: {column: description}\n", "      bin_code: {column: description}\n"
    )
    assert "bin_code" in mapping
    (tmp_path / "mapping.yaml").write_text(mapping)
    command = [str(Path(sys.executable).with_name("airflow")), "dags", "test", "hubspot_commerce_sync"]
    result = subprocess.run(
        [*command, "-c", json.dumps({"full_refresh": True})],
        env={**os.environ, "AIRFLOW__HUBSPOT_COMMERCE__MAPPING_PATH": str(tmp_path / "mapping.yaml")},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert (
        "airflow.sdk.exceptions.AirflowFailException: validate failed: SyncConfigurationError: the mapping "
        "does not fit the portal (1 problem): stream products: products has no property bin_code in "
        "HubSpot; change the mapping, or create or change the property in HubSpot. Fix: correct what it "
        "names (a SQL file, the mapping or the portal), then clear "
        "validate with its downstream tasks."
    ) in output.splitlines()[-15:]
    assert "XCom not found" not in output
    products = next(line.split() for line in output.splitlines() if line.startswith("products "))
    assert products[2:] == [
        "30",
        "0",
        "0",
        "0",
        "0",
        "30",
        "(not",
        "run:",
        "an",
        "earlier",
        "task",
        "failed)",
    ]


def test_text_in_numeric_and_date_columns_costs_only_its_own_rows(sync_dag, store, sandbox) -> None:
    """A warehouse as it is: a price ``free`` and a quantity ``two`` in numeric columns, an order placed at an
    epoch number among text dates, a payment of infinity, a cart total of 1e300. Extraction reads those
    columns as text; each bad row (and the rows that need it) is refused by name, in the rejected-rows file
    and in the sync state, and every other row lands."""
    db = sqlite3.connect(store)
    product = db.execute("SELECT sku FROM products ORDER BY sku LIMIT 1 OFFSET 3").fetchone()[0]
    order, other = (r[0] for r in db.execute(
        "SELECT DISTINCT order_id FROM order_lines WHERE order_id NOT IN "
        "(SELECT order_id FROM order_lines WHERE sku = ?) ORDER BY order_id LIMIT 2", (product,)
    ))  # fmt: skip
    payment = db.execute(
        "SELECT payment_id FROM payments WHERE order_id != ? ORDER BY payment_id LIMIT 1", (other,)
    ).fetchone()[0]
    db.execute("UPDATE products SET price = 'free' WHERE sku = ?", (product,))
    db.execute("UPDATE order_lines SET quantity = 'two' WHERE order_id = ? AND line_number = 1", (order,))
    db.execute("UPDATE orders SET placed_at = 1735689600 WHERE order_id = ?", (other,))
    db.execute("UPDATE payments SET amount = 9e999 WHERE payment_id = ?", (payment,))
    cart = db.execute(
        "SELECT cart_id FROM carts WHERE cart_id NOT IN (SELECT cart_id FROM cart_lines WHERE sku = ?) "
        "ORDER BY cart_id LIMIT 1", (product,)
    ).fetchone()[0]  # fmt: skip
    db.execute("UPDATE carts SET total = 1e300 WHERE cart_id = ?", (cart,))
    db.commit()
    lines_of_product = {
        (stream, f"{prefix}:{r[0]}:{r[1]}")
        for stream, prefix, table, column in (
            ("order_line_items", "order", "order_lines", "order_id"),
            ("cart_line_items", "cart", "cart_lines", "cart_id"),
        )
        for r in db.execute(f"SELECT {column}, line_number FROM {table} WHERE sku = ?", (product,))
    }
    expected = {
        ("products", product): "price: 'free' is not a number",
        ("order_line_items", f"order:{order}:1"): "quantity: 'two' is not a number",
        ("orders", str(other)): "hs_external_created_date: '1735689600' is not a datetime",
        ("payments", payment): "hs_initial_amount: 'inf' is not a number",
        ("carts", str(cart)): (
            "hs_total_price: '100000000000000000000000...' has more digits than HubSpot keeps (at most 15)"
        ),
        **{
            ("cart_line_items", f"cart:{cart}:{r[0]}"): f"cart '{cart}' was rejected"
            for r in db.execute("SELECT line_number FROM cart_lines WHERE cart_id = ?", (cart,))
        },
        **{line: f"product '{product}' was rejected" for line in lines_of_product},
        **{
            ("order_line_items", f"order:{other}:{r[0]}"): f"order '{other}' was rejected"
            for r in db.execute("SELECT line_number FROM order_lines WHERE order_id = ?", (other,))
        },
        **{
            ("payments", r[0]): f"order '{other}' was rejected"
            for r in db.execute("SELECT payment_id FROM payments WHERE order_id = ?", (other,))
        },
    }
    db.close()
    files = run(sync_dag, {"full_refresh": True, "max_rejected_fraction": 0.3})
    rejected = {
        (row["stream"], row["key"]): row["reason"]
        for row in map(json.loads, files.all_rejected.read_text().splitlines())
    }
    assert rejected == expected
    state = {
        (r["stream"], r["source_key"]): r["reason"]
        for r in rows(store, "SELECT * FROM hubspot_sync_state WHERE outcome = 'rejected'")
    }
    assert state == expected
    excluded: dict[str, set[str]] = {}
    for stream, key in expected:
        excluded.setdefault(stream, set()).add(key)
    assert_hubspot_matches_store(sandbox, store, excluded)
