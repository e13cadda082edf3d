"""OpenLineage end to end: one DAG run (``dag.test``) with the OpenLineage provider's file transport, against
the sandbox. The events must name the source tables the run read, the HubSpot object types it wrote, count
what landed as the sandbox holds it, and trace each property to its table columns; the Asset events must carry
the same counts under the same names.

``dag.test`` runs every task in this process, whose listener manager was set up before this test configured
a transport: the fixture registers the provider's listener itself, as its plugin does in a worker."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import default_work_dir, read_json
from hubspot_sandbox.schema import PORTAL_ID

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]

HUBSPOT = f"hubspot://{PORTAL_ID}"
KEY = "airflow_source_key"
COUNTS = ("created", "updated", "existing", "resumed", "rejected")
# The tables each stream's query reads (include/sql/), as OpenLineage names them in a SQLite file.
STREAM_TABLES = {
    "products": {"products", "order_lines", "orders", "payments", "cart_lines", "carts"},
    "contacts": {"customers", "orders", "payments", "carts"},
    "orders": {"orders", "payments"},
    "order_line_items": {"order_lines", "orders", "payments", "products"},
    "payments": {"payments", "orders"},
    "carts": {"carts"},
    "cart_line_items": {"cart_lines", "carts", "products"},
}
WRITES = {  # the run's write tasks that write: (stream, object type)
    "upsert_products": ("products", "products"),
    "upsert_contacts": ("contacts", "contacts"),
    "create_orders": ("orders", "orders"),
    "create_order_line_items": ("order_line_items", "line_items"),
    "create_carts": ("carts", "carts"),
    "create_cart_line_items": ("cart_line_items", "line_items"),
}
# create_orders' column lineage, property by property: (table, column, subtype, description) from the mapping
# (include/mappings/commerce.yaml) and orders.sql; hs_pipeline is a constant and has none.
NUMBER, TIME = "as an exact decimal", "as epoch milliseconds"
ORDERS_LINEAGE = {
    "hs_external_order_id": [("main.orders", "order_id", "IDENTITY", None)],
    "hs_order_name": [("main.orders", "order_number", "IDENTITY", None)],
    "hs_currency_code": [("main.orders", "currency", "IDENTITY", None)],
    "hs_subtotal_price": [("main.orders", "subtotal", "TRANSFORMATION", NUMBER)],
    "hs_order_discount": [("main.orders", "discount", "TRANSFORMATION", NUMBER)],
    "hs_tax": [("main.orders", "tax", "TRANSFORMATION", NUMBER)],
    "hs_shipping_cost": [("main.orders", "shipping_cost", "TRANSFORMATION", NUMBER)],
    "hs_total_price": [("main.orders", "total", "TRANSFORMATION", NUMBER)],
    "hs_external_order_status": [("main.orders", "status", "IDENTITY", None)],
    "hs_pipeline_stage": [("main.orders", "status", "IDENTITY", None)],
    "hs_external_created_date": [("main.orders", "placed_at", "TRANSFORMATION", TIME)],
    KEY: [("main.orders", "order_id", "IDENTITY", None)],
}


# Events of the tasks asserted on only, and no hook-level lineage: in dag.test every task runs in this
# process, where the hook lineage collector keeps every earlier task's SQL; replaying it doubles the run.
EMISSION_POLICY = [
    {"scope": {}, "controls": {"emit": False}},
    {
        "scope": {"dag_id": "hubspot_commerce_sync", "task_id": "extract|(create|update|upsert)_.*"},
        "match_mode": "regex",
        "controls": {"emit_task_events": True, "hook_lineage": False},
    },
]


@pytest.fixture
def lineage_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The provider on, writing every event to a JSON-lines file; its listener registered for the test."""
    from airflow.providers.openlineage.plugins.listener import OpenLineageListener, get_openlineage_listener
    from airflow.sdk.listener import get_listener_manager

    events = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events), "append": True}
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps(transport))
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD", "True")  # no fork of the test process
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__EMISSION_POLICY", json.dumps(EMISSION_POLICY))
    get_openlineage_listener.cache_clear()  # a listener whose client reads this transport
    listener, manager = get_openlineage_listener(), get_listener_manager()
    loaded = [p for p in manager.pm.get_plugins() if isinstance(p, OpenLineageListener)]  # OpenLineage on
    for plugin in loaded:  # already, with another transport: set aside for the test
        manager.pm.unregister(plugin)
    manager.add_listener(listener)
    yield events
    manager.pm.unregister(listener)
    for plugin in loaded:
        manager.add_listener(plugin)
    get_openlineage_listener.cache_clear()


def task_events(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """The events of each task of the DAG (not its SQL queries'), by task id and event type."""
    events: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for line in path.read_text().splitlines():
        event = json.loads(line)
        dag_id, _, task_id = event["job"]["name"].partition(".")
        if dag_id == "hubspot_commerce_sync" and task_id and "." not in task_id:
            assert event["eventType"] not in events[task_id], f"two {event['eventType']} of {task_id}"
            events[task_id][event["eventType"]] = event
    return events


def names(datasets: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(dataset["namespace"], dataset["name"]) for dataset in datasets}


def column_lineage(output: dict[str, Any]) -> dict[str, list[tuple[str, str, str, str | None]]]:
    """An output's column lineage: per property, (table, column, subtype, description) of each input."""
    fields = output["facets"]["columnLineage"]["fields"]
    return {
        prop: sorted(
            (i["name"], i["field"], step["subtype"], step.get("description"))
            for i in field["inputFields"]
            for step in i["transformations"]
        )
        for prop, field in fields.items()
    }


def asset_events(run_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The Asset events of the run: per write task, ``{asset uri: extra}``."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    found: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    with create_session() as session:
        for event in session.query(AssetEvent).filter_by(source_run_id=run_id):
            found[event.source_task_id][event.asset.uri] = dict(event.extra or {})
    return found


def landed(sandbox: Any, object_type: str, prefix: str = "") -> set[str]:
    """The source keys of the sandbox's records of ``object_type`` (by ``hs_sku`` or email when upserted)."""
    by = {"products": "hs_sku", "contacts": "email"}.get(object_type, KEY)
    values = [record["properties"][by] for record in sandbox.dump(object_type)]
    assert len(values) == len(set(values)), f"a duplicated {object_type} record"
    return {value for value in values if value.startswith(prefix)}


def test_a_run_emits_its_tables_objects_counts_and_column_lineage(
    sync_dag, store, sandbox, lineage_events
) -> None:
    """Payments' creates are refused (a missing scope): their task fails, and its FAIL event still names
    what it reads and writes."""
    sandbox.fault(kind="status", status=403, count=1000, path="commerce_payments/batch/create")
    conf = {"full_refresh": True, "dry_run": False, "window_start": None, "window_end": None}
    conf |= {"objects": list(sync_dag.params.dump()["objects"]), "max_rejected_fraction": 0.01}
    dag_run = sync_dag.test(run_conf=conf | {"confirm_archive": False, "reconcile": False})
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "failed" and states["create_payments"] == "failed"
    assert all(states[task] == "success" for task in WRITES), states
    events = task_events(lineage_events)
    source = f"sqlite://{store}"

    def tables(stream: str) -> set[tuple[str, str]]:
        return {(source, f"main.{table}") for table in STREAM_TABLES[stream]}

    read = events["extract"]["RUNNING"]["inputs"]
    assert names(read) == set().union(*(tables(s) for s in STREAM_TABLES)), "every table the queries read"

    db = sqlite3.connect(store)
    lines_of = "SELECT {0}_id, line_number FROM {0}_lines"
    expected_keys = {
        "create_orders": {str(r[0]) for r in db.execute("SELECT order_id FROM orders")},
        "create_order_line_items": {f"order:{o}:{n}" for o, n in db.execute(lines_of.format("order"))},
        "create_cart_line_items": {f"cart:{c}:{n}" for c, n in db.execute(lines_of.format("cart"))},
        "create_carts": {str(r[0]) for r in db.execute("SELECT cart_id FROM carts")},
        "upsert_products": {r[0] for r in db.execute("SELECT sku FROM products")},
        "upsert_contacts": {r[0].lower() for r in db.execute("SELECT email FROM customers")},
    }
    files = RunStorage.for_run(default_work_dir(), sync_dag.dag_id, dag_run.run_id)
    quota = read_json(files.quota_plan)
    assets = asset_events(dag_run.run_id)
    for task, (stream, object_type) in WRITES.items():
        start, complete = events[task]["START"], events[task]["COMPLETE"]
        for event in (start, complete):
            assert names(event["inputs"]) == tables(stream), task
            assert names(event["outputs"]) == {(HUBSPOT, object_type)}, task
            facets = event["run"]["facets"]
            assert facets["hubspotQuota"]["portal"] == str(PORTAL_ID)
            assert facets["hubspotQuota"]["needed"] == quota["needed"], "the run's plan"
            plan = read_json(files.plan(stream))
            assert facets["hubspotSyncState"]["create"] == plan["create"] == len(expected_keys[task])
            assert facets["hubspotSyncState"]["unchanged"] == plan["unchanged"] == 0
        assert column_lineage(start["outputs"][0]) == column_lineage(complete["outputs"][0])
        assert start["outputs"][0]["outputFacets"] == {}, "the counts come at the end"
        prefix = {"create_order_line_items": "order:", "create_cart_line_items": "cart:"}.get(task, "")
        keys = landed(sandbox, object_type, prefix)
        assert keys == expected_keys[task], f"{task}: every record once"
        written = complete["outputs"][0]["outputFacets"]
        assert written["outputStatistics"]["rowCount"] == len(keys)
        counts = {name: written["hubspotWrite"][name] for name in COUNTS}
        assert counts == {"created": len(keys), "updated": 0, "existing": 0, "resumed": 0, "rejected": 0}
        extra = {"object_type": object_type, "action": task.split("_")[0], **counts}
        portal_uri = f"{HUBSPOT}/{object_type}"  # the OpenLineage namespace and name
        assert assets[task] == {f"hubspot://crm/{object_type}": extra, portal_uri: extra}, task

    assert column_lineage(events["create_orders"]["COMPLETE"]["outputs"][0]) == ORDERS_LINEAGE
    lines = column_lineage(events["create_order_line_items"]["COMPLETE"]["outputs"][0])
    assert lines["name"] == [("main.products", "name", "IDENTITY", None)], "through the join's alias"
    assert lines["hs_line_item_currency_code"] == [("main.orders", "currency", "IDENTITY", None)]
    assert lines["hs_product_id"] == [
        ("main.order_lines", "sku", "TRANSFORMATION", "the HubSpot id of the products record with this key")
    ]
    template = "template 'order:{order_id}:{line_number}'"
    assert lines[KEY] == [
        ("main.order_lines", "line_number", "TRANSFORMATION", template),
        ("main.order_lines", "order_id", "TRANSFORMATION", template),
    ]
    email = column_lineage(events["upsert_contacts"]["COMPLETE"]["outputs"][0])["email"]
    assert email == [("main.customers", "email", "TRANSFORMATION", "lower-cased")]
    product_type = column_lineage(events["upsert_products"]["COMPLETE"]["outputs"][0])["hs_product_type"]
    values = "through the values physical -> inventory, digital -> non_inventory"
    assert product_type == [("main.products", "product_type", "TRANSFORMATION", values)]
    cart_name = column_lineage(events["create_carts"]["COMPLETE"]["outputs"][0])["hs_cart_name"]
    assert cart_name == [("main.carts", "cart_id", "TRANSFORMATION", "template 'Cart {cart_id}'")]

    failed = events["create_payments"]["FAIL"]
    assert names(failed["inputs"]) == tables("payments")
    assert names(failed["outputs"]) == {(HUBSPOT, "commerce_payments")}
    assert failed["outputs"][0]["outputFacets"] == {}, "stopped before any record landed"
    assert sandbox.dump("commerce_payments") == [] and "create_payments" not in assets
    assert events["update_orders"]["COMPLETE"]["outputs"] == [], "nothing to update: no output"
