"""Planning: create what HubSpot lacks, update only what changed (as HubSpot shows values), skip the rest."""

from __future__ import annotations

import pandas as pd

from hubspot_commerce.batch.records import Link
from hubspot_commerce.sync.diff import (
    desired_links,
    missing_links,
    normalise,
    plan_stream,
    resolve_references,
)
from hubspot_commerce.sync.id_index import IdIndex
from hubspot_commerce.sync.mapping import KEY, PropertyRule, Reference, StreamMapping

ORDERS = StreamMapping(
    name="orders",
    object_type="orders",
    sql="orders",
    key="{order_id}",
    properties=(
        PropertyRule("hs_order_name", column="n"),
        PropertyRule("hs_total_price", column="t", type="number"),
        PropertyRule("hs_external_created_date", column="d", type="datetime"),
    ),
    references=(Reference("contact", "contacts", "{customer_id}", association=507, optional=True),),
)
LINES = StreamMapping(
    name="lines",
    object_type="line_items",
    sql="order_lines",
    key="order:{order_id}:{n}",
    properties=(PropertyRule("quantity", column="q", type="number"),),
    references=(
        Reference("product", "products", "{sku}", property="hs_product_id"),
        Reference("order", "orders", "{order_id}", association=514),
    ),
)
PRODUCTS = StreamMapping(
    name="products",
    object_type="products",
    sql="products",
    key="{sku}",
    upsert_by="hs_sku",
    properties=(PropertyRule("hs_sku", column="sku"), PropertyRule("price", column="p")),
)
DEFS = [
    {"name": "hs_order_name", "type": "string"},
    {"name": "hs_total_price", "type": "number"},
    {"name": "hs_external_created_date", "type": "datetime"},
    {"name": "quantity", "type": "number"},
    {"name": "hs_product_id", "type": "number"},
    {"name": "price", "type": "number"},
    {"name": "hs_sku", "type": "string"},
]


def _ids(maps: dict[str, dict[str, str]]) -> dict[str, IdIndex]:
    """Id indexes from plain maps."""
    return {stream: IdIndex.from_pairs(ids.items()) for stream, ids in maps.items()}


def _orders() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            KEY: ["1", "2", "3", "4"],
            "hs_order_name": ["SO-1", "SO-2", "SO-3", "SO-4"],
            "hs_total_price": ["19.9", "5", "7.25", pd.NA],
            "hs_external_created_date": ["1740787200000"] * 4,
            "ref:contact": ["c1", pd.NA, "c1", "c2"],
        },
        dtype="string",
    )
    resolved, rejected = resolve_references(ORDERS, frame, _ids({"contacts": {"c1": "901", "c2": "902"}}))
    assert rejected == []
    return resolved


def test_new_rows_are_created_with_key_property_and_associations() -> None:
    plan = plan_stream(ORDERS, _orders(), {}, DEFS, "airflow_source_key")
    assert plan.update == [] and plan.unchanged == 0 and plan.existing_ids == {}
    assert plan.create[0] == {
        "key": "1",
        "properties": {
            "hs_order_name": "SO-1",
            "hs_total_price": "19.9",
            "hs_external_created_date": "1740787200000",
            "airflow_source_key": "1",
        },
        "associations": [{"to_id": "901", "type_id": 507}],
    }
    assert "associations" not in plan.create[1]  # a guest order: no contact link
    assert "hs_total_price" not in plan.create[3]["properties"]  # missing values are omitted


def test_existing_rows_update_only_changed_values_compared_as_hubspot_returns_them() -> None:
    existing = {
        # Same values in HubSpot's own forms: "19.90" for 19.9, an ISO datetime for the epoch ms.
        "1": {
            "id": "11",
            "properties": {
                "hs_order_name": "SO-1",
                "hs_total_price": "19.90",
                "hs_external_created_date": "2025-03-01T00:00:00.000Z",
            },
        },
        "2": {
            "id": "12",
            "properties": {
                "hs_order_name": "SO-2 old",
                "hs_total_price": "5.0",
                "hs_external_created_date": "1740787200000",
            },
        },
        # A value HubSpot has but the source lacks is left alone (missing values never clear anything).
        "4": {
            "id": "14",
            "properties": {
                "hs_order_name": "SO-4",
                "hs_total_price": "3",
                "hs_external_created_date": "1740787200000",
            },
        },
    }
    plan = plan_stream(ORDERS, _orders(), existing, DEFS, "airflow_source_key")
    assert [record["key"] for record in plan.create] == ["3"]
    assert plan.update == [{"key": "2", "id": "12", "properties": {"hs_order_name": "SO-2"}}]
    assert plan.unchanged == 2
    assert plan.existing_ids == {"1": "11", "2": "12", "4": "14"}


def test_upsert_streams_send_changed_and_new_rows_by_their_unique_value() -> None:
    frame = pd.DataFrame(
        {KEY: ["A", "B", "C"], "hs_sku": ["A", "B", "C"], "price": ["1", "2", "3"]}, dtype="string"
    )
    existing = {
        "A": {"id": "1", "properties": {"hs_sku": "A", "price": "1.00"}},
        "B": {"id": "2", "properties": {"hs_sku": "B", "price": "2.5"}},
    }
    plan = plan_stream(PRODUCTS, frame, existing, DEFS, "airflow_source_key")
    assert plan.create == [{"key": "C", "id": "C", "properties": {"hs_sku": "C", "price": "3"}}]
    assert plan.update == [{"key": "B", "id": "B", "properties": {"hs_sku": "B", "price": "2"}}]
    assert plan.unchanged == 1


def test_references_become_ids_or_reject_the_row() -> None:
    frame = pd.DataFrame(
        {
            KEY: ["order:1:1", "order:1:2", "order:2:1"],
            "quantity": ["1", "2", "3"],
            "ref:product": ["A", "B", "A"],
            "ref:order": ["1", "1", "2"],
        },
        dtype="string",
    )
    ids = _ids({"products": {"A": "501"}, "orders": {"1": "11"}})
    resolved, rejected = resolve_references(LINES, frame, ids)
    assert resolved[KEY].tolist() == ["order:1:1"]
    assert resolved["hs_product_id"].tolist() == ["501"]
    assert {row.key: row.reason for row in rejected} == {
        "order:1:2": "product 'B' has no HubSpot record (rejected by HubSpot, or products not synced)",
        "order:2:1": "order '2' has no HubSpot record (rejected by HubSpot, or orders not synced)",
    }
    # A dry run plans without the ids that earlier streams would have created.
    resolved, rejected = resolve_references(LINES, frame, ids, strict=False)
    assert len(resolved) == 3 and rejected == []
    plan = plan_stream(LINES, resolved, {}, DEFS, "airflow_source_key")
    assert plan.create[0]["associations"] == [{"to_id": "11", "type_id": 514}]
    assert plan.create[0]["properties"]["hs_product_id"] == "501"
    assert "associations" not in plan.create[2] and "hs_product_id" not in plan.create[1]["properties"]


def test_normalise_dates_numbers_and_bools() -> None:
    assert normalise(pd.Series(["2025-03-01", "1740787200000", ""]), "date").tolist() == [
        "1740787200000",
        "1740787200000",
        pd.NA,
    ]
    assert normalise(pd.Series(["10.50", "10.5", "1e2"]), "number").tolist() == ["10.5", "10.5", "100"]
    assert normalise(pd.Series(["True", "false"]), "bool").tolist() == ["true", "false"]


def test_existing_records_get_the_links_hubspot_lacks() -> None:
    frame = _orders()
    links = desired_links(ORDERS, frame, {"1": "11", "2": "12", "3": "13"})
    # Order 2 is a guest order (no link wanted); order 4 does not exist yet (its create carries the link).
    assert links == {"contact": [Link("1", "11", "901", 507), Link("3", "13", "901", 507)]}
    current = {"11": {"901"}, "13": {"900"}}  # 13 is linked to another contact: the new link is added
    assert missing_links(links["contact"], current) == [Link("3", "13", "901", 507)]


def test_links_named_by_the_records_own_key_are_not_checked() -> None:
    frame = pd.DataFrame({KEY: ["order:1:1"], "ref:product": ["A"], "ref:order": ["1"]}, dtype="string")
    resolved, _ = resolve_references(LINES, frame, _ids({"products": {"A": "501"}, "orders": {"1": "11"}}))
    assert desired_links(LINES, resolved, {"order:1:1": "71"}) == {}
