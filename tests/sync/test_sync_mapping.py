"""Mapping YAML and vectorised conversions: exact decimals, epoch milliseconds, booleans, missing values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.mapping import (
    PropertyRule,
    StreamMapping,
    as_text,
    convert_property,
    format_template,
    load_mapping,
    map_stream,
    to_bool_text,
    to_epoch_ms,
    to_number_text,
)


def test_numbers_are_exact_decimal_strings() -> None:
    floats = pd.Series([19.99, 20.0, 0.1 + 0.2, 1e-7, 1.5e16, -0.0, None], dtype="Float64")
    assert to_number_text(floats).tolist() == [
        "19.99",
        "20",
        "0.30000000000000004",
        "0.0000001",
        "15000000000000000",
        "0",
        pd.NA,
    ]
    decimals = pd.Series([Decimal("12.50"), Decimal("100"), Decimal("1E+2"), None], dtype=object)
    assert to_number_text(decimals).tolist() == ["12.5", "100", "100", pd.NA]
    integers = pd.Series([3, None, 10], dtype="Int64")
    assert to_number_text(integers).tolist() == ["3", pd.NA, "10"]
    text = pd.Series(["007.10", "abc", " 5 "], dtype="string")
    assert to_number_text(text).tolist() == ["007.1", "abc", "5"]  # "abc" is left for validation to reject


def test_whole_floats_with_missing_values_print_as_integers() -> None:
    assert to_number_text(pd.Series([2.0, None, 5.0])).tolist() == ["2", pd.NA, "5"]


def test_a_value_reads_the_same_whatever_rows_are_beside_it() -> None:
    """A stream mapped a chunk at a time maps as it would at once: a whole float is written as an integer
    whether or not other rows of its chunk have fractions (SQLite's NUMERIC gives 20 beside 19.99)."""
    prices = pd.Series([20.0, 19.99, None, -0.0, 1e20], dtype="Float64")
    assert as_text(prices).tolist() == ["20", "19.99", pd.NA, "0", "1e+20"]
    assert as_text(prices[:1]).tolist() == as_text(prices)[:1].tolist()


def test_dates_are_midnight_utc_and_datetimes_exact_epoch_ms() -> None:
    values = pd.Series(
        ["2025-03-01 17:45:10", "2025-03-01T23:30:00-02:00", None, "not a date"], dtype="string"
    )
    assert to_epoch_ms(values, date_only=False).tolist() == [
        "1740851110000",
        "1740879000000",
        pd.NA,
        "invalid:not a date",
    ]
    # 23:30 at UTC-2 is already 2 March in UTC.
    assert to_epoch_ms(values, date_only=True).tolist() == [
        "1740787200000",
        "1740873600000",
        pd.NA,
        "invalid:not a date",
    ]


def test_numeric_timestamps_are_rejected_not_read_as_nanoseconds() -> None:
    # pandas would read 1740851110000 as nanoseconds: 1970-01-01T00:29:00, silently wrong
    assert to_epoch_ms(pd.Series([1740851110000, None], dtype="Int64"), date_only=False).tolist() == [
        "invalid:1740851110000",
        pd.NA,
    ]
    assert to_epoch_ms(pd.Series([1740851110.5]), date_only=True).tolist() == ["invalid:1740851110.5"]
    assert to_epoch_ms(pd.Series([None, None], dtype="float64"), date_only=False).isna().all()


def test_booleans() -> None:
    values = pd.Series([True, "yes", "0", "F", None, "maybe"], dtype=object)
    assert to_bool_text(values).tolist() == ["true", "true", "false", "false", pd.NA, "maybe"]


def test_templates_and_missing_fields() -> None:
    frame = pd.DataFrame({"order_id": pd.Series([1001, 1002, None], dtype="Int64"), "line": [1, 2, 3]})
    assert format_template(frame, "order:{order_id}:{line}").tolist() == [
        "order:1001:1",
        "order:1002:2",
        pd.NA,
    ]
    with pytest.raises(SyncConfigurationError, match="names column 'nope', which the query does not return"):
        format_template(frame, "{nope}")


def test_values_map_constant_lowercase_and_blank_text() -> None:
    frame = pd.DataFrame({"status": ["open", "lost", None], "email": ["A@Example.COM", " ", None]})
    stage = PropertyRule("hs_pipeline_stage", column="status", values={"open": "stage-1"})
    # A value not listed passes on; validation checks it against the property's options.
    assert convert_property(frame, stage).tolist() == ["stage-1", "lost", pd.NA]
    assert convert_property(frame, PropertyRule("hs_pipeline", value="p-1")).tolist() == ["p-1"] * 3
    email = PropertyRule("email", column="email", lowercase=True)
    assert convert_property(frame, email).tolist() == ["a@example.com", pd.NA, pd.NA]


def test_map_stream_builds_key_properties_and_references() -> None:
    stream = StreamMapping(
        name="lines",
        object_type="line_items",
        sql="order_lines",
        key="order:{order_id}:{n}",
        properties=(PropertyRule("quantity", column="qty", type="number"),),
        references=(),
    )
    frame = pd.DataFrame({"order_id": [7], "n": [1], "qty": [2.0]})
    out = map_stream(frame, stream)
    assert out.to_dict("records") == [{"key": "order:7:1", "quantity": "2"}]


def test_default_mapping_loads_and_uses_hubspot_ecommerce_properties() -> None:
    mapping = load_mapping()
    assert list(mapping.streams) == [
        "products",
        "contacts",
        "orders",
        "order_line_items",
        "payments",
        "carts",
        "cart_line_items",
    ]
    orders = mapping.streams["orders"]
    assert {
        "hs_external_order_id",
        "hs_order_name",
        "hs_currency_code",
        "hs_total_price",
        "hs_pipeline_stage",
    } <= set(orders.property_names)
    assert {(ref.stream, ref.association) for ref in orders.references} == {("contacts", 507)}
    lines = mapping.streams["order_line_items"]
    assert {(ref.stream, ref.association, ref.property) for ref in lines.references} == {
        ("products", None, "hs_product_id"),
        ("orders", 514, None),
    }
    payments = mapping.streams["payments"]
    assert {(ref.stream, ref.association) for ref in payments.references} == {
        ("orders", 524),
        ("contacts", 387),
    }
    assert {(r.stream, r.association) for r in mapping.streams["carts"].references} == {("contacts", 586)}
    assert {
        (r.stream, r.association) for r in mapping.streams["cart_line_items"].references if r.association
    } == {("carts", 591)}
    assert mapping.streams["products"].upsert_by == "hs_sku"
    assert mapping.streams["contacts"].upsert_by == "email"


STREAM = "streams:\n  a: {object_type: orders, sql: o, key: '{x}', "


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (STREAM + "properties: {p: {column: x, value: y}}}", "exactly one of column, value, template"),
        (STREAM + "properties: {p: {column: x, type: money}}}", "has type 'money'"),
        (STREAM + "references: {c: {stream: b, key: '{y}', association: 1}}}", "not an earlier stream"),
        (
            STREAM + "upsert_by: p, properties: {q: {column: x}}}",
            "upsert_by 'p' is not one of its properties",
        ),
        (
            "streams:\n  c: {object_type: contacts, sql: customers, key: '{x}',"
            " properties: {email: {column: e}}}\n"
            "  a: {object_type: products, sql: products, key: '{x}', upsert_by: p,"
            " properties: {p: {column: x}}, references: {c: {stream: c, key: '{y}', association: 1}}}",
            "cannot have association references",
        ),
        (
            STREAM + "properties: {p: {colum: x}}}",
            "stream a: property p: unknown key colum; allowed: column, lowercase, required, template, type",
        ),
        (
            STREAM + "references: {c: {stream: b, key: '{y}', assoc: 1}}}",
            "stream a: reference c: unknown key assoc; allowed: association, key, optional, property, stream",
        ),
        (
            STREAM + "upsert: p}",
            "stream a: unknown key upsert; allowed: deleted_column, key, max_rejected_fraction, mirror, "
            "object_type, properties",
        ),
        (
            "streams:\n  p: {object_type: products, sql: products, key: '{x}', upsert_by: q, mirror: true,"
            " properties: {q: {column: x}}}",
            "stream p: mirror needs records the sync created; an upsert_by stream",
        ),
        (
            "streams:\n  p: {object_type: products, sql: products, key: '{x}', deleted_column: d,"
            " properties: {q: {column: x}}}",
            "stream p: deleted_column needs mirror: true",
        ),
        (
            "streams:\n  a: {object_type: line_items, sql: order_lines, key: 'o:{x}', mirror: true,"
            " properties: {q: {column: x}}}\n"
            "  b: {object_type: line_items, sql: cart_lines, key: 'o:c:{x}', properties: {q: {column: x}}}",
            r"stream a: mirror needs keys that tell it apart from stream b \(both write line_items\)",
        ),
        (STREAM + "properties: {p: x}}", "stream a: property p: expected a mapping of column"),
        (STREAM + "properties: {p: {column: x}}}", r"stream a: SQL file .*/include/sql/o.sql does not exist"),
    ],
)
def test_mapping_mistakes_are_named(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("key_property: {name: k, label: K}\n" + yaml_text)
    with pytest.raises(ValueError, match=message):
        load_mapping(path)
