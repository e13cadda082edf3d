"""HubSpotBatchOperator's lineage against the sandbox: its OpenLineage facets with the counts of a real write,
the portal's Asset through an alias, and nothing at all without the OpenLineage provider."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import pytest
from airflow.sdk import Asset, AssetAlias
from airflow.sdk.execution_time.context import OutletEventAccessors

from hubspot_commerce.client.crm_properties import key_property_definition
from hubspot_commerce.errors import HubSpotRejectedRecords
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.lineage.extract_events import emit_extract_lineage
from hubspot_commerce.lineage.write_lineage import FieldSource, WriteLineage
from hubspot_commerce.operators.batch import HubSpotBatchOperator
from hubspot_sandbox.schema import PORTAL_ID

KEY = "src_key"
STATIC = Asset(name="hubspot_orders", uri="hubspot://crm/orders")
ALIAS = AssetAlias(name="hubspot_portal_orders")
FIELDS = {"hs_total_price": (FieldSource("total"),)}
SPEC = WriteLineage("shop", "SELECT order_id, total FROM orders", FIELDS, state_file="plan.json")


@pytest.fixture
def orders_ready(hubspot_conn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Orders with the key property in the sandbox; ``shop`` a SQLite source."""
    HubSpotHook(hubspot_conn_id=hubspot_conn).ensure_properties("orders", [key_property_definition(KEY)])
    shop = {"conn_type": "sqlite", "host": str(tmp_path / "shop.sqlite")}
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", json.dumps(shop))
    return hubspot_conn


def _create_orders(inputs: list[dict], tmp_path: Path, **kwargs) -> HubSpotBatchOperator:
    return HubSpotBatchOperator(
        task_id="create_orders", object_type="orders", action="create", inputs=inputs, key_property=KEY,
        output_dir=str(tmp_path), outlets=[STATIC, ALIAS], lineage=SPEC.to_json(), **kwargs,
    )  # fmt: skip


def _orders(n: int) -> list[dict]:
    return [{"key": f"o-{i}", "properties": {"hs_order_name": f"Order {i}"}} for i in range(n)]


def test_a_write_emits_its_counts_on_the_object_type_and_on_the_portals_asset(
    sandbox, orders_ready, tmp_path: Path
) -> None:
    (tmp_path / "plan.json").write_text(json.dumps({"create": 3, "update": 0, "unchanged": 8}))
    op = _create_orders(_orders(3), tmp_path)
    events = OutletEventAccessors()
    op.execute(context={"outlet_events": events})
    counts = {"created": 3, "updated": 0, "existing": 0, "resumed": 0, "rejected": 0}
    extra = {"object_type": "orders", "action": "create", **counts}
    assert events[STATIC].extra == extra
    (event,) = events[ALIAS].asset_alias_events
    assert (event.dest_asset_key.uri, event.dest_asset_key.name) == (
        f"hubspot://{PORTAL_ID}/orders",
        f"hubspot_{PORTAL_ID}_orders",
    )
    assert event.extra == extra
    lineage = op.get_openlineage_facets_on_complete(task_instance=None)
    (output,) = lineage.outputs
    assert f"{output.namespace}/{output.name}" == event.dest_asset_key.uri, "one name for both"
    assert (
        output.outputFacets["hubspotWrite"].created == 3
        and output.outputFacets["outputStatistics"].rowCount == 3
    )
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        (f"sqlite://{tmp_path}/shop.sqlite", "main.orders")
    ]
    assert lineage.run_facets["hubspotQuota"].portal == str(PORTAL_ID), "the write's own plan"
    assert lineage.run_facets["hubspotSyncState"].unchanged == 8, "the stream's plan in output_dir"


def test_a_failed_write_reports_what_landed_and_rejected(sandbox, orders_ready, tmp_path: Path) -> None:
    bad = {"key": "bad-1", "properties": {"nope": "1", "hs_order_name": "x"}}
    op = _create_orders([*_orders(4), bad], tmp_path)
    with pytest.raises(HubSpotRejectedRecords):
        op.execute(context={"outlet_events": OutletEventAccessors()})
    write = op.get_openlineage_facets_on_failure(task_instance=None).outputs[0].outputFacets["hubspotWrite"]
    assert (write.created, write.rejected) == (4, 1)


def test_a_write_skipped_before_writing_names_no_output(sandbox, orders_ready, tmp_path: Path) -> None:
    plan = {"needed": 0, "limit": 10, "remaining": 10, "reserve": 1, "on_short": "defer"}
    run_quota = json.dumps(plan | {"resets_at": "2026-01-02T00:00:00+00:00", "portal": "99"})
    op = _create_orders([], tmp_path, skip_if_empty=True, run_quota=run_quota)
    started = op.get_openlineage_facets_on_start()
    assert [(d.namespace, d.name) for d in started.outputs] == [("hubspot://99", "orders")], "the run's plan"
    assert op.get_openlineage_facets_on_complete(task_instance=None).outputs == []


def test_without_a_portal_the_alias_gets_no_event(sandbox, orders_ready, tmp_path: Path, caplog) -> None:
    """A token that may not read the account details: no portal id; the type's Asset still gets its event."""
    sandbox.fault(kind="status", status=403, count=1000, path="account-info")
    events = OutletEventAccessors()
    with caplog.at_level(logging.INFO, logger="hubspot_commerce.operators.batch"):
        _create_orders(_orders(1), tmp_path).execute(context={"outlet_events": events})
    assert events[STATIC].extra["created"] == 1 and events[ALIAS].asset_alias_events == []
    assert "The portal's id is unknown: no event for asset alias hubspot_portal_orders" in caplog.messages


def test_without_the_openlineage_provider_nothing_is_emitted_and_nothing_fails(
    orders_ready, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = _create_orders(_orders(1), tmp_path, run_quota={"needed": 1, "reserve": 0, "on_short": "defer",
                        "resets_at": "2026-01-02T00:00:00+00:00", "portal": "7"})  # fmt: skip
    assert op.get_openlineage_facets_on_start().outputs, "with the provider"
    for module in [m for m in sys.modules if m.startswith(("airflow.providers.openlineage", "openlineage"))]:
        monkeypatch.setitem(sys.modules, module, None)  # as if not installed: importing it fails
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage", None)
    for module in ("hubspot_commerce.lineage.facets", "hubspot_commerce.lineage.source_tables"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    assert op.get_openlineage_facets_on_start() is None
    assert op.get_openlineage_facets_on_complete(task_instance=None) is None
    assert op.get_openlineage_facets_on_failure(task_instance=None) is None
    assert emit_extract_lineage("shop", {"orders": "SELECT * FROM orders"}) is None
