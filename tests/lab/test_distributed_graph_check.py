"""The graph check on a tiny store against an in-memory fake HubSpot built from the store (no server)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from hubspot_commerce_lab.distributed.graph_check import (
    STAGES,
    check_graph,
    load_source,
    same_amount,
    sampled,
)
from hubspot_commerce_lab.sample_store import StoreSize, generate_store

TINY = StoreSize(products=6, customers=5, orders=8, carts=4)


class FakeHubSpot:
    """Records and links in memory, read the way ``HubSpotReader`` reads a portal."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.links: dict[tuple[str, str], dict[str, dict[str, list[int]]]] = {}
        self.ids = iter(range(1000, 10**6))

    def add(self, object_type: str, **properties: Any) -> str:
        record_id = str(next(self.ids))
        values = {name: None if value is None else str(value) for name, value in properties.items()}
        self.records.setdefault(object_type, []).append({"id": record_id, "properties": values})
        return record_id

    def link(self, from_type: str, from_id: str, to_type: str, to_id: str, type_id: int) -> None:
        self.links.setdefault((from_type, to_type), {}).setdefault(from_id, {})[to_id] = [type_id]

    def find(self, object_type: str, prop: str, value: str) -> dict[str, Any]:
        return next(r for r in self.records[object_type] if r["properties"].get(prop) == value)

    def list_objects(self, object_type: str, properties: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {"id": r["id"], "properties": {p: r["properties"].get(p) for p in properties}}
            for r in self.records.get(object_type, [])
        ]

    def associations(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, dict[str, list[int]]]:
        links = self.links.get((from_type, to_type), {})
        return {record_id: dict(links.get(record_id, {})) for record_id in ids}


def ms(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() * 1000)


def rows(store: Path, sql: str) -> list[sqlite3.Row]:
    db = sqlite3.connect(store)
    db.row_factory = sqlite3.Row
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def add_orders(
    hubspot: FakeHubSpot, store: Path, contact_of: dict[int, str], product_of: dict[str, str]
) -> None:
    """Orders, their lines and payments, linked as the sync links them."""
    order_of = {}
    for o in rows(store, "SELECT * FROM orders"):
        order_id = hubspot.add(
            "orders", airflow_source_key=o["order_id"], hs_order_name=o["order_number"],
            hs_external_order_id=o["order_id"], hs_currency_code=o["currency"],
            hs_external_order_status=o["status"], hs_pipeline_stage=STAGES[o["status"]],
            hs_total_price=o["total"], hs_subtotal_price=o["subtotal"], hs_tax=o["tax"],
            hs_order_discount=o["discount"], hs_shipping_cost=o["shipping_cost"],
            hs_external_created_date=ms(o["placed_at"]),
        )  # fmt: skip
        order_of[o["order_id"]] = order_id
        if o["customer_id"] is not None:
            hubspot.link("orders", order_id, "contacts", contact_of[o["customer_id"]], 507)
    for line in rows(store, "SELECT * FROM order_lines"):
        line_id = hubspot.add(
            "line_items", airflow_source_key=f"order:{line['order_id']}:{line['line_number']}",
            quantity=line["quantity"], price=line["unit_price"], discount=line["discount"],
            hs_product_id=product_of[line["sku"]],
        )  # fmt: skip
        hubspot.link("orders", order_of[line["order_id"]], "line_items", line_id, 513)
        hubspot.link("line_items", line_id, "orders", order_of[line["order_id"]], 514)
    customer_of = {o["order_id"]: o["customer_id"] for o in rows(store, "SELECT * FROM orders")}
    for p in rows(store, "SELECT * FROM payments"):
        payment_id = hubspot.add(
            "commerce_payments", airflow_source_key=p["payment_id"], hs_initial_amount=p["amount"],
            hs_currency_code=p["currency"], hs_initiated_date=ms(p["initiated_at"]),
            hs_reference_number=p["reference"],
        )  # fmt: skip
        hubspot.link("commerce_payments", payment_id, "orders", order_of[p["order_id"]], 524)
        if customer_of[p["order_id"]] is not None:
            hubspot.link(
                "commerce_payments", payment_id, "contacts", contact_of[customer_of[p["order_id"]]], 387
            )


def add_carts(
    hubspot: FakeHubSpot, store: Path, contact_of: dict[int, str], product_of: dict[str, str]
) -> None:
    cart_of = {}
    for c in rows(store, "SELECT * FROM carts"):
        cart_id = hubspot.add(
            "carts", airflow_source_key=c["cart_id"], hs_total_price=c["total"],
            hs_currency_code=c["currency"], hs_external_cart_id=c["cart_id"], hs_cart_url=c["url"],
        )  # fmt: skip
        cart_of[c["cart_id"]] = cart_id
        if c["customer_id"] is not None:
            hubspot.link("carts", cart_id, "contacts", contact_of[c["customer_id"]], 586)
    for line in rows(store, "SELECT * FROM cart_lines"):
        line_id = hubspot.add(
            "line_items", airflow_source_key=f"cart:{line['cart_id']}:{line['line_number']}",
            quantity=line["quantity"], price=line["unit_price"], hs_product_id=product_of[line["sku"]],
        )  # fmt: skip
        hubspot.link("carts", cart_of[line["cart_id"]], "line_items", line_id, 590)
        hubspot.link("line_items", line_id, "carts", cart_of[line["cart_id"]], 591)


def faithful_portal(store: Path) -> FakeHubSpot:
    """The portal a correct sync of ``store`` leaves behind (and a few records of another source)."""
    hubspot = FakeHubSpot()
    product_of = {
        p["sku"]: hubspot.add("products", hs_sku=p["sku"], name=p["name"], price=p["price"])
        for p in rows(store, "SELECT * FROM products")
    }
    contact_of = {
        c["customer_id"]: hubspot.add(
            "contacts", email=c["email"].lower(), firstname=c["first_name"], lastname=c["last_name"]
        )
        for c in rows(store, "SELECT * FROM customers")
    }
    add_orders(hubspot, store, contact_of, product_of)
    add_carts(hubspot, store, contact_of, product_of)
    hubspot.add("products", hs_sku="OTHER-1", name="Not from the store", price="1")
    hubspot.add("contacts", email="someone@elsewhere.example")
    foreign_order = hubspot.add("orders", airflow_source_key="999999", hs_order_name="X")
    hubspot.link("orders", foreign_order, "contacts", "1", 507)
    return hubspot


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    generate_store(path, TINY)
    return path


def test_a_faithful_portal_passes_and_foreign_records_are_ignored(store: Path) -> None:
    result = check_graph(faithful_portal(store), store)
    assert result.ok, result.describe()
    assert result.checked["orders"] == 8 and result.checked["products"] == 6


def test_missing_duplicated_and_wrong_records_are_reported(store: Path) -> None:
    hubspot = faithful_portal(store)
    hubspot.records["orders"].remove(hubspot.find("orders", "airflow_source_key", "100002"))
    hubspot.add("orders", airflow_source_key="100003", hs_order_name="SO-100003")
    hubspot.find("orders", "airflow_source_key", "100004")["properties"]["hs_total_price"] = "1.0E2"
    product = hubspot.find("products", "hs_sku", "SKU-00001")
    product["properties"]["price"] = f"{Decimal(product['properties']['price']):.3f}"  # the same amount
    hubspot.find("line_items", "airflow_source_key", "order:100001:1")["properties"]["hs_product_id"] = "1"
    result = check_graph(hubspot, store)
    assert result.missing == ["orders 100002"]
    assert result.duplicates and result.duplicates[0].startswith("orders 100003: 2 records")
    assert any(m.startswith("orders 100004: hs_total_price is '1.0E2'") for m in result.mismatches)
    assert any(
        m.startswith("order_line_items order:100001:1: hs_product_id is '1'") for m in result.mismatches
    )
    assert not any(m.startswith("products ") for m in result.mismatches)
    assert not result.ok


def test_links_must_be_exactly_the_stores(store: Path) -> None:
    hubspot = faithful_portal(store)
    order = hubspot.find("orders", "airflow_source_key", "100001")
    lines = hubspot.links[("orders", "line_items")][order["id"]]
    first_line = sorted(lines, key=int)[0]
    lines.pop(first_line)
    cart = hubspot.records["carts"][0]
    hubspot.link("carts", cart["id"], "line_items", first_line, 590)
    payment = hubspot.records["commerce_payments"][0]
    target = next(iter(hubspot.links[("commerce_payments", "orders")][payment["id"]]))
    hubspot.links[("commerce_payments", "orders")][payment["id"]][target] = [523]
    result = check_graph(hubspot, store)
    problems = "\n".join(result.mismatches)
    assert "orders 100001 -> line_items: HubSpot links" in problems
    assert f"carts {cart['properties']['airflow_source_key']} -> line_items" in problems
    assert "type ids [523], not [524]" in problems
    assert len(result.mismatches) == 3 and not result.missing and not result.duplicates


def test_excluded_rows_must_be_absent_and_are_not_missing(store: Path) -> None:
    hubspot = faithful_portal(store)
    order = hubspot.find("orders", "airflow_source_key", "100005")
    hubspot.records["orders"].remove(order)
    for line in [
        r
        for r in hubspot.records["line_items"]
        if r["properties"]["airflow_source_key"].startswith("order:100005:")
    ]:
        hubspot.records["line_items"].remove(line)
    payments = {r["properties"]["airflow_source_key"] for r in hubspot.records["commerce_payments"]}
    if "PAY-100005" in payments:
        hubspot.records["commerce_payments"].remove(
            hubspot.find("commerce_payments", "airflow_source_key", "PAY-100005")
        )
    lines = {
        f"order:100005:{r['line_number']}"
        for r in rows(store, "SELECT * FROM order_lines WHERE order_id = 100005")
    }
    excluded = {
        "orders": {"100005"},
        "order_line_items": lines,
        "payments": {"PAY-100005"},
        "products": {"SKU-00006"},
    }
    result = check_graph(hubspot, store, excluded)
    assert result.missing == []
    product_id = hubspot.find("products", "hs_sku", "SKU-00006")["id"]
    assert result.mismatches == [f"products SKU-00006: in HubSpot (id {product_id}) but excluded"]


def test_a_sample_reads_the_links_of_some_orders_and_carts_and_checks_every_record(store: Path) -> None:
    everything = check_graph(faithful_portal(store), store)
    hubspot = faithful_portal(store)
    hubspot.records["orders"].remove(hubspot.find("orders", "airflow_source_key", "100002"))
    result = check_graph(hubspot, store, sample=2)
    assert result.missing == ["orders 100002"] and not result.mismatches and not result.duplicates
    assert result.checked == everything.checked
    assert 0 < result.links_checked < everything.links_checked


def test_a_sample_keeps_whole_orders_and_carts(store: Path) -> None:
    source = load_source(store)
    found = {name: {key: {"id": key} for key in rows} for name, rows in source.items()}
    kept = sampled(source, found, 3)
    assert len(kept["orders"]) == 3 and len(kept["carts"]) == 3
    assert kept["products"] == found["products"] and kept["contacts"] == found["contacts"]
    for stream, parent, column in (
        ("order_line_items", "orders", "order_id"),
        ("payments", "orders", "order_id"),
        ("cart_line_items", "carts", "cart_id"),
    ):
        wanted = {key for key, row in source[stream].items() if str(row[column]) in kept[parent]}
        assert set(kept[stream]) == wanted


@pytest.mark.parametrize(
    ("hubspot", "source", "same"),
    [("249", 249.0, True), ("249.00", "249", True), ("0.3", 0.3, True), ("2.5E+1", 25, False),
     ("0.30000000000000004", 0.3, False), (None, 1, False), ("", 0, False), ("-1.5", -1.5, True)],
)  # fmt: skip
def test_same_amount_is_exact_and_plain(hubspot: Any, source: Any, same: bool) -> None:
    assert same_amount(hubspot, source) is same


def test_rows_the_sync_rejected_are_counted_apart_never_missing_and_not_value_checked(store: Path) -> None:
    """A rejected payment absent from HubSpot and a rejected product present with other values: both are
    rejected, neither missing nor a mismatch; an absent row that nobody rejected is still missing."""
    hubspot = faithful_portal(store)
    payments = hubspot.records["commerce_payments"]
    payment_key = sorted(r["properties"]["airflow_source_key"] for r in payments)[0]
    hubspot.records["commerce_payments"].remove(
        hubspot.find("commerce_payments", "airflow_source_key", payment_key)
    )
    hubspot.find("products", "hs_sku", "SKU-00002")["properties"]["name"] = "an older name"
    hubspot.records["orders"].remove(hubspot.find("orders", "airflow_source_key", "100003"))
    rejected = {"payments": {payment_key}, "products": {"SKU-00002"}}
    result = check_graph(hubspot, store, rejected=rejected)
    assert sorted(result.rejected) == [f"payments {payment_key}", "products SKU-00002"]
    assert result.missing == ["orders 100003"]
    assert not any("SKU-00002" in m or payment_key in m for m in result.mismatches)
    assert "2 rows rejected by the sync with a reason" in result.describe()
    everything = check_graph(faithful_portal(store), store)
    assert result.checked["payments"] == everything.checked["payments"] - 1
