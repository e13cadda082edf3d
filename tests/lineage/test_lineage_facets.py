"""A write's OpenLineage objects from its lineage, its result and the run's plans."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubspot_commerce.batch.quota import QuotaPlan
from hubspot_commerce.lineage.facets import column_lineage, write_lineage_facets
from hubspot_commerce.lineage.source_tables import SourceTables
from hubspot_commerce.lineage.write_lineage import FieldSource, WriteLineage

SPEC = WriteLineage(
    "shop",
    "SELECT o.order_id, o.total, c.email AS Buyer FROM orders o JOIN customers c USING (customer_id)",
    {
        "hs_total_price": (FieldSource("total", "DIRECT", "TRANSFORMATION", "as an exact decimal"),),
        "hs_pipeline": (),
        "buyer_email": (FieldSource("BUYER"),),
        "airflow_source_key": (FieldSource("order_id"),),
    },
)
RESULT = {"created": 7, "updated": 2, "existing": 1, "resumed": 3, "rejected": 4, "not_attempted": 5}
PLAN = QuotaPlan(120, 1000, 900, 100, "defer", datetime(2026, 1, 2, tzinfo=UTC), "24681357", "Europe/Paris")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "shop.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return f"sqlite://{path}"


def test_each_property_is_traced_to_its_table_columns_and_a_constant_to_none() -> None:
    tables = SourceTables(
        "sqlite:///s", ["main.orders"], {"total": [("main.orders", "total")], "buyer": [("main.c", "email")]}
    )
    facet = column_lineage(SPEC, tables)
    assert facet is not None and sorted(facet.fields) == ["buyer_email", "hs_total_price"]
    (total,) = facet.fields["hs_total_price"].inputFields
    assert (total.namespace, total.name, total.field) == ("sqlite:///s", "main.orders", "total")
    step = total.transformations[0]
    assert (step.type, step.subtype, step.description) == ("DIRECT", "TRANSFORMATION", "as an exact decimal")
    assert facet.fields["buyer_email"].inputFields[0].field == "email", "query columns match in any case"
    assert column_lineage(SPEC, SourceTables("sqlite:///s", [])) is None, "an unreadable query: none"


def test_a_finished_write_names_its_tables_its_object_type_and_its_counts(shop: str) -> None:
    lineage = write_lineage_facets(
        object_type="orders", action="create", portal="24681357", spec=SPEC, result=RESULT,
        quota=PLAN.to_json(), state={"create": 9, "update": 3, "unchanged": 40, "relinked": 1, "rejected": 2},
    )  # fmt: skip
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        (shop, "main.customers"),
        (shop, "main.orders"),
    ]
    (output,) = lineage.outputs
    assert (output.namespace, output.name) == ("hubspot://24681357", "orders")
    assert [field.name for field in output.facets["schema"].fields] == list(SPEC.fields)
    assert output.facets["columnLineage"].fields["airflow_source_key"].inputFields[0].name == "main.orders"
    assert output.outputFacets["outputStatistics"].rowCount == 13, "created, updated, existing, resumed"
    write = output.outputFacets["hubspotWrite"]
    assert (write.action, write.created, write.updated, write.existing) == ("create", 7, 2, 1)
    assert (write.resumed, write.rejected, write.notAttempted) == (3, 4, 5)
    quota = lineage.run_facets["hubspotQuota"]
    assert (quota.needed, quota.limit, quota.remaining, quota.reserve, quota.available) == (
        120,
        1000,
        900,
        100,
        800,
    )
    assert (quota.onShort, quota.resetsAt) == ("defer", "2026-01-02T00:00:00+00:00")
    assert (quota.portal, quota.timeZone) == ("24681357", "Europe/Paris")
    state = lineage.run_facets["hubspotSyncState"]
    assert (state.create, state.update, state.unchanged, state.relinked, state.rejected) == (9, 3, 40, 1, 2)


def test_without_a_portal_or_a_result_the_write_names_less(shop: str) -> None:
    started = write_lineage_facets(object_type="orders", action="create", portal="1", spec=SPEC)
    assert started.outputs[0].outputFacets == {} and started.run_facets == {}, "the counts come at the end"
    unknown = write_lineage_facets(object_type="orders", action="create", portal=None, spec=SPEC)
    assert unknown.outputs == [] and len(unknown.inputs) == 2
    bare = write_lineage_facets(object_type="orders", action="create", portal="1", spec=None)
    assert bare.inputs == [] and bare.outputs[0].facets == {}


def test_a_source_that_cannot_be_named_is_logged_and_the_output_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = WriteLineage("no_such_source", "SELECT 1")
    with caplog.at_level(logging.WARNING, logger="hubspot_commerce.lineage.facets"):
        lineage = write_lineage_facets(object_type="carts", action="update", portal="1", spec=spec)
    assert lineage.inputs == [] and [(d.namespace, d.name) for d in lineage.outputs] == [
        ("hubspot://1", "carts")
    ]
    assert caplog.messages == [
        "OpenLineage could not name the tables of source connection 'no_such_source' "
        "(AirflowNotFoundException: The conn_id `no_such_source` isn't defined), so this write's events name "
        "no input and no column lineage; check that connection"
    ]
