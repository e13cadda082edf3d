"""The sample store: the source contract's tables, deterministic, realistic shapes."""

from __future__ import annotations

import hashlib
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from hubspot_commerce_lab.sample_store import StoreSize, generate_store

SIZE = StoreSize(products=15, customers=20, orders=50, carts=12)


def _dump(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


def test_same_seed_same_store_and_other_seed_differs(tmp_path: Path) -> None:
    generate_store(tmp_path / "a.sqlite", SIZE, seed=1)
    generate_store(tmp_path / "b.sqlite", SIZE, seed=1)
    generate_store(tmp_path / "c.sqlite", SIZE, seed=2)
    digest = [hashlib.sha256(_dump(tmp_path / f"{n}.sqlite").encode()).hexdigest() for n in "abc"]
    assert digest[0] == digest[1]
    assert digest[0] != digest[2]


def test_contract_tables_and_shapes(tmp_path: Path) -> None:
    counts = generate_store(tmp_path / "s.sqlite", SIZE)
    assert (counts["products"], counts["customers"], counts["orders"], counts["carts"]) == (15, 20, 50, 12)
    db = sqlite3.connect(tmp_path / "s.sqlite")
    columns = {table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")] for table in counts}
    assert columns["orders"] == [
        "order_id",
        "customer_id",
        "order_number",
        "status",
        "currency",
        "subtotal",
        "discount",
        "tax",
        "shipping_cost",
        "total",
        "placed_at",
        "updated_at",
    ]
    assert columns["order_lines"] == ["order_id", "line_number", "sku", "quantity", "unit_price", "discount"]
    assert columns["payments"] == [
        "payment_id",
        "order_id",
        "amount",
        "currency",
        "method",
        "status",
        "initiated_at",
        "reference",
        "updated_at",
    ]
    assert columns["cart_lines"] == ["cart_id", "line_number", "sku", "quantity", "unit_price"]
    statuses = {row[0] for row in db.execute("SELECT status FROM orders")}
    assert statuses <= {"open", "processed", "shipped", "delivered", "cancelled"}
    lines_per_order = [n for (n,) in db.execute("SELECT COUNT(*) FROM order_lines GROUP BY order_id")]
    assert len(lines_per_order) == 50 and min(lines_per_order) >= 1 and max(lines_per_order) <= 6
    assert db.execute("SELECT COUNT(*) FROM orders WHERE customer_id IS NULL").fetchone()[0] > 0  # guests
    assert db.execute("SELECT COUNT(*) FROM carts WHERE customer_id IS NULL").fetchone()[0] > 0  # anonymous
    # Every line's SKU is a product and every payment's order exists.
    assert (
        db.execute("SELECT COUNT(*) FROM order_lines WHERE sku NOT IN (SELECT sku FROM products)").fetchone()[
            0
        ]
        == 0
    )
    assert (
        db.execute(
            "SELECT COUNT(*) FROM payments WHERE order_id NOT IN (SELECT order_id FROM orders)"
        ).fetchone()[0]
        == 0
    )


def test_order_totals_add_up(tmp_path: Path) -> None:
    generate_store(tmp_path / "s.sqlite", SIZE)
    db = sqlite3.connect(tmp_path / "s.sqlite")
    db.row_factory = sqlite3.Row
    for order in db.execute("SELECT * FROM orders"):
        money = {k: Decimal(str(order[k])) for k in ("subtotal", "discount", "tax", "shipping_cost", "total")}
        assert money["subtotal"] - money["discount"] + money["tax"] + money["shipping_cost"] == money["total"]
        lines = db.execute(
            "SELECT quantity, unit_price, discount FROM order_lines WHERE order_id = ?", (order["order_id"],)
        ).fetchall()
        net = sum(Decimal(str(q)) * Decimal(str(p)) - Decimal(str(d or 0)) for q, p, d in lines)
        assert net == money["subtotal"]


def test_chunks_hold_the_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    generate_store(tmp_path / "whole.sqlite", SIZE)
    monkeypatch.setattr("hubspot_commerce_lab.sample_store.CHUNK", 7)
    generate_store(tmp_path / "chunked.sqlite", SIZE)

    assert _dump(tmp_path / "chunked.sqlite") == _dump(tmp_path / "whole.sqlite")
