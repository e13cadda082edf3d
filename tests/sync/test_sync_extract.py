"""The run's window and the templated SQL: exactly the rows updated in the window, plus what they refer to."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubspot_commerce.sync.extract import Window, render_query, resolve_window
from hubspot_commerce.sync.resources import include_path

T0 = datetime(2025, 3, 1, tzinfo=UTC)
T1 = datetime(2025, 3, 2, tzinfo=UTC)
NO_PARAMS = {"full_refresh": False, "window_start": None, "window_end": None}


def test_window_from_data_interval() -> None:
    assert resolve_window(NO_PARAMS, T0, T1, run_after=T1) == Window(T0, T1)


def test_window_params_override_the_interval_and_take_naive_times_as_utc() -> None:
    params = {**NO_PARAMS, "window_start": "2025-05-01T00:00:00", "window_end": "2025-05-03T12:00:00+02:00"}
    window = resolve_window(params, T0, T1, run_after=T1)
    assert window == Window(datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 3, 10, tzinfo=UTC))


def test_manual_run_without_logical_date_takes_the_day_before_run_after() -> None:
    window = resolve_window(NO_PARAMS, None, None, run_after=datetime(2025, 6, 10, 8, tzinfo=UTC))
    assert window == Window(datetime(2025, 6, 9, 8, tzinfo=UTC), datetime(2025, 6, 10, 8, tzinfo=UTC))


def test_full_refresh_ignores_every_window() -> None:
    params = {**NO_PARAMS, "full_refresh": True, "window_start": "2025-05-01"}
    assert resolve_window(params, T0, T1, run_after=T1).full_refresh


@pytest.mark.parametrize(
    "params",
    [
        {**NO_PARAMS, "window_start": "2025-05-01"},
        {**NO_PARAMS, "window_start": "2025-05-02", "window_end": "2025-05-01"},
    ],
)
def test_bad_window_params_are_refused(params: dict) -> None:
    with pytest.raises(ValueError, match="window"):
        resolve_window(params, T0, T1, run_after=T1)


def test_sql_is_rendered_with_the_window() -> None:
    sql = render_query("orders", Window(T0, T1), include_path("sql"))
    assert "updated_at >= '2025-03-01 00:00:00' AND updated_at < '2025-03-02 00:00:00'" in sql
    assert "1 = 1" in render_query("orders", Window(None, None, full_refresh=True), include_path("sql"))


def test_full_refresh_extracts_every_row(extract, store: Path) -> None:
    frames = extract()
    db = sqlite3.connect(store)
    for stream, table in [
        ("products", "products"),
        ("contacts", "customers"),
        ("orders", "orders"),
        ("order_line_items", "order_lines"),
        ("payments", "payments"),
        ("carts", "carts"),
        ("cart_line_items", "cart_lines"),
    ]:
        assert len(frames[stream]) == db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0], stream


def test_window_selects_updated_rows_and_everything_they_refer_to(extract, store: Path) -> None:
    db = sqlite3.connect(store)
    # Move one order, one payment of another order and one cart into the window; nothing else is in it.
    db.execute("UPDATE orders SET updated_at = '2024-01-01 00:00:00'")
    db.execute("UPDATE payments SET updated_at = '2024-01-01 00:00:00'")
    db.execute("UPDATE carts SET updated_at = '2024-01-01 00:00:00'")
    db.execute("UPDATE products SET updated_at = '2024-01-01 00:00:00'")
    db.execute("UPDATE customers SET updated_at = '2024-01-01 00:00:00'")
    order_id, customer_id = db.execute(
        "SELECT order_id, customer_id FROM orders WHERE customer_id IS NOT NULL LIMIT 1"
    ).fetchone()
    paid_order, payment_id = db.execute(
        "SELECT order_id, payment_id FROM payments WHERE order_id != ? LIMIT 1", (order_id,)
    ).fetchone()
    cart_id = db.execute("SELECT cart_id FROM carts LIMIT 1").fetchone()[0]
    db.execute("UPDATE orders SET updated_at = '2025-03-01 00:00:00' WHERE order_id = ?", (order_id,))
    db.execute("UPDATE payments SET updated_at = '2025-03-01 23:59:59' WHERE payment_id = ?", (payment_id,))
    db.execute("UPDATE carts SET updated_at = '2025-03-01 12:00:00' WHERE cart_id = ?", (cart_id,))
    db.execute(
        "UPDATE products SET updated_at = '2025-03-02 00:00:00' WHERE sku = 'SKU-00001'"
    )  # end: excluded
    db.commit()
    frames = extract(Window(T0, T1))
    assert set(frames["orders"]["order_id"]) == {order_id, paid_order}
    assert set(frames["payments"]["payment_id"]) == {payment_id}
    assert set(frames["carts"]["cart_id"]) == {cart_id}
    lines = db.execute(
        "SELECT order_id, line_number FROM order_lines WHERE order_id IN (?, ?)", (order_id, paid_order)
    ).fetchall()
    assert sorted(
        zip(frames["order_line_items"]["order_id"], frames["order_line_items"]["line_number"], strict=True)
    ) == sorted(lines)
    skus = {
        row[0]
        for row in db.execute(
            "SELECT sku FROM order_lines WHERE order_id IN (?, ?) "
            "UNION SELECT sku FROM cart_lines WHERE cart_id = ?",
            (order_id, paid_order, cart_id),
        )
    }
    assert set(frames["products"]["sku"]) == skus
    assert customer_id in set(frames["contacts"]["customer_id"])
