"""The sync state end to end: the real DAG against the sandbox, the state table in the store's SQLite file.

Each test checks the state table and HubSpot record by record: planning from the state reads nothing, a
changed row costs one update, and a reconcile run repairs what was edited or deleted in HubSpot.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import requests
from test_dag_commerce_sync_e2e import assert_hubspot_matches_store, by_key, rows, run

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]

# The docs' query: HubSpot ids joined back onto the warehouse's own orders.
JOIN = """
SELECT o.order_id, s.hubspot_id, s.outcome, s.synced_at
FROM orders o JOIN hubspot_sync_state s ON s.stream = 'orders' AND s.source_key = CAST(o.order_id AS TEXT)
"""


def state(store: Path, stream: str) -> dict[str, sqlite3.Row]:
    return {
        r["source_key"]: r for r in rows(store, "SELECT * FROM hubspot_sync_state WHERE stream = ?", stream)
    }


def requests_since(sandbox: Any, before: dict) -> dict[str, int]:
    """Requests per path since ``before`` (a ``sandbox.stats()``)."""
    now = sandbox.stats()["by_path"]
    return {
        path: n - before["by_path"].get(path, 0)
        for path, n in now.items()
        if n > before["by_path"].get(path, 0)
    }


def hubspot(sandbox: Any, method: str, path: str, body: dict | None = None) -> None:
    """Change HubSpot behind the sync's back, as a user in HubSpot's UI would."""
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    requests.request(method, sandbox.url + path, json=body, headers=headers, timeout=10).raise_for_status()


def test_the_state_holds_every_row_a_changed_row_costs_one_update_and_a_rerun_reads_nothing(
    sync_dag, store, sandbox
) -> None:
    run(sync_dag, {"full_refresh": True})
    orders = by_key(sandbox.dump("orders"))
    recorded = state(store, "orders")
    assert {key: r["hubspot_id"] for key, r in recorded.items()} == {
        key: o["id"] for key, o in orders.items()
    }
    assert {r["outcome"] for r in recorded.values()} == {"created"} and all(
        r["row_hash"] for r in recorded.values()
    )
    assert len(rows(store, JOIN)) == len(orders), "every order joins to its HubSpot id"

    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET total = total + 1.10, tax = tax + 1.10 WHERE order_id = 100001")
    before = sandbox.stats()
    run(sync_dag, {"full_refresh": True})
    sent = requests_since(sandbox, before)
    assert not [p for p in sent if "/batch/read" in p], "nothing read back from HubSpot"
    writes = {p: n for p, n in sent.items() if "/batch/" in p}
    update = next(p for p in sent if "orders/batch/update" in p)
    assert writes == {update: 1}, "one update, no association: the link did not move"
    assert_hubspot_matches_store(sandbox, store)
    recorded = state(store, "orders")
    assert recorded["100001"]["outcome"] == "updated"
    assert {r["outcome"] for key, r in recorded.items() if key != "100001"} == {"unchanged"}


def test_a_create_hubspot_answers_already_exists_is_reconciled_without_a_duplicate(
    sync_dag, store, sandbox
) -> None:
    """The state lost a row, and the source changed it meanwhile: the create finds HubSpot's record, which
    gets the new values by an update in the same task; the state records it without a hash (its links
    were not checked), so the next run updates it and adds its links, and the run after writes nothing."""
    run(sync_dag, {"full_refresh": True})
    hubspot_id = state(store, "orders")["100002"]["hubspot_id"]
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM hubspot_sync_state WHERE stream = 'orders' AND source_key = '100002'")
        db.execute("UPDATE orders SET order_number = 'SO-CHANGED' WHERE order_id = 100002")
    run(sync_dag, {"full_refresh": True})
    order = by_key(sandbox.dump("orders"))["100002"]
    assert order["id"] == hubspot_id, "the same record, not a second one"
    assert order["properties"]["hs_order_name"] == "SO-CHANGED", "the source's values, in this run"
    recorded = state(store, "orders")["100002"]
    assert (recorded["hubspot_id"], recorded["outcome"]) == (hubspot_id, "existing")
    assert recorded["row_hash"] is None
    assert_hubspot_matches_store(sandbox, store)

    run(sync_dag, {"full_refresh": True})
    recorded = state(store, "orders")["100002"]
    assert recorded["outcome"] == "updated" and recorded["row_hash"]
    before = sandbox.stats()
    run(sync_dag, {"full_refresh": True})
    assert sandbox.stats()["write_requests"] == before["write_requests"], "then nothing to write"


def test_a_record_edited_in_hubspot_is_repaired_on_reconcile(sync_dag, store, sandbox) -> None:
    run(sync_dag, {"full_refresh": True})
    order = by_key(sandbox.dump("orders"))["100003"]
    hubspot(
        sandbox, "PATCH", f"/crm/v3/objects/orders/{order['id']}", {"properties": {"hs_order_name": "edited"}}
    )
    run(sync_dag, {"full_refresh": True})
    assert by_key(sandbox.dump("orders"))["100003"]["properties"]["hs_order_name"] == "edited", (
        "the state trusts what it wrote: only a reconcile run sees HubSpot's edits"
    )
    run(sync_dag, {"full_refresh": True, "reconcile": True})
    assert_hubspot_matches_store(sandbox, store)
    assert state(store, "orders")["100003"]["outcome"] == "updated"


def test_a_record_deleted_in_hubspot_is_recreated_on_reconcile_with_its_links(
    sync_dag, store, sandbox
) -> None:
    run(sync_dag, {"full_refresh": True})
    old_id = state(store, "orders")["100004"]["hubspot_id"]
    hubspot(sandbox, "DELETE", f"/crm/v3/objects/orders/{old_id}")
    run(sync_dag, {"full_refresh": True, "reconcile": True})
    new_id = by_key(sandbox.dump("orders"))["100004"]["id"]
    assert new_id != old_id and state(store, "orders")["100004"]["hubspot_id"] == new_id
    assert_hubspot_matches_store(sandbox, store)  # its lines, payments and contact are linked to it again


def test_an_update_to_a_record_hubspot_no_longer_has_recreates_it(sync_dag, store, sandbox) -> None:
    run(sync_dag, {"full_refresh": True})
    old_id = state(store, "orders")["100005"]["hubspot_id"]
    hubspot(sandbox, "DELETE", f"/crm/v3/objects/orders/{old_id}")
    with sqlite3.connect(store) as db:
        db.execute("UPDATE orders SET order_number = 'SO-RENAMED' WHERE order_id = 100005")
    files = run(sync_dag, {"full_refresh": True})
    recreated = by_key(sandbox.dump("orders"))["100005"]
    assert recreated["id"] != old_id and recreated["properties"]["hs_order_name"] == "SO-RENAMED"
    recorded = state(store, "orders")["100005"]
    assert (recorded["hubspot_id"], recorded["outcome"]) == (recreated["id"], "updated")
    assert files.all_rejected.read_text() == ""
    assert_hubspot_matches_store(sandbox, store)  # with its contact, lines and payments linked again


def test_a_lost_state_table_is_rebuilt_by_a_reconcile_run_with_no_duplicate(sync_dag, store, sandbox) -> None:
    run(sync_dag, {"full_refresh": True})
    ids = {key: r["hubspot_id"] for key, r in state(store, "orders").items()}
    with sqlite3.connect(store) as db:
        db.execute("DROP TABLE hubspot_sync_state")
    before = sandbox.stats()
    run(sync_dag, {"full_refresh": True, "reconcile": True})  # reads HubSpot instead of the state
    assert sandbox.stats()["write_requests"] == before["write_requests"], "nothing written again"
    assert {key: r["hubspot_id"] for key, r in state(store, "orders").items()} == ids
    assert {r["outcome"] for r in state(store, "orders").values()} == {"unchanged"}
    assert_hubspot_matches_store(sandbox, store)
