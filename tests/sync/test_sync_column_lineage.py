"""The source columns of each HubSpot property, read from the mapping (pure)."""

from __future__ import annotations

import json

from hubspot_commerce.lineage.write_lineage import FieldSource, WriteLineage
from hubspot_commerce.sync.column_lineage import (
    field_sources,
    property_sources,
    stream_queries,
    stream_query,
    write_lineage,
)
from hubspot_commerce.sync.mapping import PropertyRule, load_mapping

KEY = "airflow_source_key"


def test_columns_pass_as_they_are_or_through_their_conversion() -> None:
    orders = field_sources(load_mapping().streams["orders"], KEY)
    assert orders["hs_order_name"] == (FieldSource("order_number"),)
    assert orders["hs_total_price"] == (
        FieldSource("total", "DIRECT", "TRANSFORMATION", "as an exact decimal"),
    )
    assert orders["hs_external_created_date"] == (
        FieldSource("placed_at", "DIRECT", "TRANSFORMATION", "as epoch milliseconds"),
    )
    assert orders["hs_pipeline"] == (), "a constant comes from no column"
    assert orders[KEY] == (FieldSource("order_id"),), "creates carry the source key"


def test_value_tables_lowercase_and_templates_are_described() -> None:
    streams = load_mapping().streams
    method = field_sources(streams["payments"], KEY)["hs_payment_method_type"]
    assert method == (
        FieldSource(
            "method",
            "DIRECT",
            "TRANSFORMATION",
            "through the values paypal -> other, bank_transfer -> wire_transfer",
        ),
    )
    contacts = field_sources(streams["contacts"], None)
    assert contacts["email"] == (FieldSource("email", "DIRECT", "TRANSFORMATION", "lower-cased"),)
    assert KEY not in contacts, "an upsert finds its records by email: no source key property"
    assert field_sources(streams["carts"], KEY)["hs_cart_name"] == (
        FieldSource("cart_id", "DIRECT", "TRANSFORMATION", "template 'Cart {cart_id}'"),
    )


def test_a_reference_property_and_a_composite_key_name_every_column() -> None:
    lines = field_sources(load_mapping().streams["order_line_items"], KEY)
    assert lines["hs_product_id"] == (
        FieldSource("sku", "DIRECT", "TRANSFORMATION", "the HubSpot id of the products record with this key"),
    )
    template = "template 'order:{order_id}:{line_number}'"
    assert lines[KEY] == (
        FieldSource("line_number", "DIRECT", "TRANSFORMATION", template),
        FieldSource("order_id", "DIRECT", "TRANSFORMATION", template),
    )
    assert "order" not in lines and "contact" not in lines, "associations are links, not properties"


def test_every_step_a_value_goes_through_is_named_in_order() -> None:
    rule = PropertyRule(name="x", template="{a}-{b}", type="date", lowercase=True, values={"1": "one"})
    steps = (
        "template '{a}-{b}'; as epoch milliseconds at midnight UTC; lower-cased; through the values 1 -> one"
    )
    assert property_sources(rule) == (
        FieldSource("a", "DIRECT", "TRANSFORMATION", steps),
        FieldSource("b", "DIRECT", "TRANSFORMATION", steps),
    )


def test_the_write_lineage_is_json_and_reads_back_the_same() -> None:
    mapping = load_mapping()
    orders = mapping.streams["orders"]
    lineage = write_lineage(orders, stream_query(mapping, orders), KEY, "commerce_source")
    value = json.loads(json.dumps(lineage.to_json()))
    assert WriteLineage.from_json(value) == lineage
    assert (value["source_conn_id"], value["state_file"]) == ("commerce_source", "plan.json")
    assert value["fields"]["hs_tax"] == [
        {"column": "tax", "type": "DIRECT", "subtype": "TRANSFORMATION", "description": "as an exact decimal"}
    ]


def test_queries_are_rendered_as_a_full_refresh_reads_them() -> None:
    queries = stream_queries(load_mapping())
    assert list(queries) == [
        "products", "contacts", "orders", "order_line_items", "payments", "carts", "cart_line_items",
    ]  # fmt: skip
    assert "FROM orders" in queries["orders"] and "1 = 1" in queries["orders"]
    assert not any("{" in query for query in queries.values()), "nothing left to render"
