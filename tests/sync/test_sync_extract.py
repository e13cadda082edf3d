"""The run's window and the templated SQL: exactly the rows updated in the window, plus what they refer to,
read a chunk at a time into the run's storage."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.storage import iter_table, read_table
from hubspot_commerce.sync.extract import (
    Window,
    render_query,
    resolve_window,
    rows_table,
    sql_source,
    stream_chunks,
)
from hubspot_commerce.sync.mapping import KeyProperty, StreamMapping, SyncMapping
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce.sync.run_options import RunOptions
from hubspot_commerce.sync.tasks.extract_task import extract_step
from hubspot_commerce.sync.tasks.task_context import RunContext
from hubspot_commerce_lab.distributed.services import PostgresServer

T0 = datetime(2025, 3, 1, tzinfo=UTC)
T1 = datetime(2025, 3, 2, tzinfo=UTC)
NO_PARAMS = {"full_refresh": False, "window_start": None, "window_end": None}  # RunOptions fields


def test_window_from_data_interval() -> None:
    assert resolve_window(RunOptions(**NO_PARAMS), T0, T1, run_after=T1) == Window(T0, T1)


def test_window_params_override_the_interval_and_take_naive_times_as_utc() -> None:
    params = {**NO_PARAMS, "window_start": "2025-05-01T00:00:00", "window_end": "2025-05-03T12:00:00+02:00"}
    window = resolve_window(RunOptions(**params), T0, T1, run_after=T1)
    assert window == Window(datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 5, 3, 10, tzinfo=UTC))


def test_manual_run_without_logical_date_takes_the_day_before_run_after() -> None:
    run_after = datetime(2025, 6, 10, 8, tzinfo=UTC)
    window = resolve_window(RunOptions(**NO_PARAMS), None, None, run_after=run_after)
    assert window == Window(datetime(2025, 6, 9, 8, tzinfo=UTC), datetime(2025, 6, 10, 8, tzinfo=UTC))


def test_full_refresh_ignores_every_window() -> None:
    params = {**NO_PARAMS, "full_refresh": True, "window_start": "2025-05-01"}
    assert resolve_window(RunOptions(**params), T0, T1, run_after=T1).full_refresh


@pytest.mark.parametrize(
    "params",
    [
        {**NO_PARAMS, "window_start": "2025-05-01"},
        {**NO_PARAMS, "window_start": "2025-05-02", "window_end": "2025-05-01"},
    ],
)
def test_bad_window_params_are_refused(params: dict) -> None:
    with pytest.raises(ValueError, match="window"):
        resolve_window(RunOptions(**params), T0, T1, run_after=T1)


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


def test_a_stream_read_in_chunks_is_the_stream_read_at_once(extract, store: Path) -> None:
    """Written seven rows at a time, each stream's table reads back as in one chunk, types included."""
    chunked, whole = extract(chunk_rows=7), extract(chunk_rows=1_000_000)
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(chunked[name], frame, obj=name)
    assert str(whole["orders"]["total"].dtype) == "Float64"


def _things(tmp_path: Path, sql: str) -> tuple[SyncMapping, RunStorage]:
    """A mapping of one stream, ``things``, whose query is ``sql``, and a run's storage."""
    (tmp_path / "things.sql").write_text(sql)
    things = StreamMapping("things", "orders", "things", "{id}", ())
    mapping = SyncMapping(KeyProperty("airflow_source_key", "Source key"), {"things": things}, tmp_path)
    return mapping, RunStorage.for_run(f"file://{tmp_path}", "sync", "things")


def test_a_column_takes_the_type_of_all_its_chunks(source, store: Path, tmp_path: Path) -> None:
    """A column NULL in the first chunks is text in a later one, integers turn into decimals: the table's
    parts are read with one type per column, in every chunk as in the whole table."""
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE things (id INTEGER, note TEXT, amount NUMERIC)")
        db.executemany(
            "INSERT INTO things VALUES (?, ?, ?)",
            [(i, None if i < 10 else f"note {i}", i if i < 12 else i + 0.5) for i in range(20)],
        )
    mapping, files = _things(tmp_path, "SELECT id, note, amount FROM things ORDER BY id")
    assert extract_step(RunContext(mapping, files), source, Window(T0, T1), chunk_rows=7)["things"] == "20"
    expected = pd.DataFrame(
        {
            "id": pd.array(range(20), dtype="Int64"),
            "note": pd.array([None] * 10 + [f"note {i}" for i in range(10, 20)], dtype="string"),
            "amount": pd.array([*range(12), *(i + 0.5 for i in range(12, 20))], dtype="Float64"),
        }
    )
    pd.testing.assert_frame_equal(read_table(files.source("things")), expected)
    chunks = list(iter_table(files.source("things"), 7))
    assert [len(chunk) for chunk in chunks] == [7, 7, 6]
    assert all(chunk.dtypes.equals(expected.dtypes) for chunk in chunks)
    assert len(list(files.source("things").iterdir())) > 1, "the types changed: the table has parts"


def test_a_stream_without_rows_keeps_its_columns(source, tmp_path: Path) -> None:
    mapping, files = _things(tmp_path, "SELECT sku AS id, price FROM products WHERE 1 = 0")
    assert extract_step(RunContext(mapping, files), source, Window(T0, T1), chunk_rows=7)["things"] == "0"
    assert list(read_table(files.source("things")).columns) == ["id", "price"]
    [empty] = iter_table(files.source("things"), 7)
    assert list(empty.columns) == ["id", "price"] and empty.empty


def test_a_query_the_source_refuses_names_its_file(source, tmp_path: Path) -> None:
    mapping, files = _things(tmp_path, "SELECT no_such_column FROM products")
    refused = r"stream things: the source refused .*things\.sql: no such column"
    with pytest.raises(SyncConfigurationError, match=refused):
        extract_step(RunContext(mapping, files), source, Window(T0, T1))


def test_a_column_of_values_of_several_types_is_read_as_text(source, store: Path, tmp_path: Path) -> None:
    """SQLite lets a column hold numbers and text side by side (so do text-typed staging tables): the column
    is read as text, every value as it came, so that validation can refuse the one bad row by name."""
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE things (id, price)")
        db.executemany(
            "INSERT INTO things VALUES (?, ?)", [(1, 12.5), ("one", 13.0), (3, "free"), (4, 14.25)]
        )
    mapping, files = _things(tmp_path, "SELECT id, price FROM things ORDER BY rowid")
    extract_step(RunContext(mapping, files), source, Window(T0, T1))
    table = read_table(files.source("things"))
    assert table["id"].tolist() == ["1", "one", "3", "4"]
    assert table["price"].tolist() == ["12.5", "13.0", "free", "14.25"]


def test_numbers_then_text_in_a_later_chunk_read_back_as_text(source, store: Path, tmp_path: Path) -> None:
    """The first chunk's prices are numbers, the second's hold a word: the table reads as text throughout."""
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE things (id INTEGER, price)")
        db.executemany("INSERT INTO things VALUES (?, ?)", [(1, 12.5), (2, 13.0), (3, "free"), (4, 14.25)])
    mapping, files = _things(tmp_path, "SELECT id, price FROM things ORDER BY id")
    extract_step(RunContext(mapping, files), source, Window(T0, T1), chunk_rows=2)
    chunks = list(iter_table(files.source("things"), 3))
    assert [price for chunk in chunks for price in chunk["price"].tolist()] == ["12.5", "13", "free", "14.25"]
    assert [i for chunk in chunks for i in chunk["id"].tolist()] == [1, 2, 3, 4], "one type: kept"


@pytest.mark.parametrize(
    ("values", "text"),
    [
        ([Decimal("12.50"), Decimal("NaN")], ["12.50", "NaN"]),  # PostgreSQL NUMERIC 'NaN'
        ([2**70, 1], [str(2**70), "1"]),  # beyond 64 bits
        ([12.5, float("nan"), None], ["12.5", "NaN", None]),  # a float NaN is a value, not a missing one
        ([True, "yes", None], ["true", "yes", None]),
        ([datetime(2025, 3, 1, 12, tzinfo=UTC), "soon"], ["2025-03-01 12:00:00+00:00", "soon"]),
        ([date(2025, 3, 1), "2025-03-02"], ["2025-03-01", "2025-03-02"]),
        ([b"caf\xc3\xa9", 3], ["café", "3"]),
    ],
)
def test_values_arrow_cannot_type_together_become_text(values: list, text: list) -> None:
    assert rows_table(["v"], [(value,) for value in values]).column("v").to_pylist() == text


def test_extracting_again_replaces_the_table(source, tmp_path: Path) -> None:
    """A retried extract leaves only its own rows, whatever parts the first try wrote."""
    mapping, files = _things(tmp_path, "SELECT CASE WHEN rowid > 3 THEN sku END AS id FROM products")
    extract_step(RunContext(mapping, files), source, Window(T0, T1), chunk_rows=3)
    assert len(list(files.source("things").iterdir())) == 2, "NULL, then text: two parts"
    (tmp_path / "things.sql").write_text("SELECT sku AS id FROM products ORDER BY sku LIMIT 2")
    extract_step(RunContext(mapping, files), source, Window(T0, T1), chunk_rows=3)
    assert read_table(files.source("things"))["id"].tolist() == ["SKU-00001", "SKU-00002"]


def test_postgres_rows_come_through_a_server_side_cursor_a_chunk_at_a_time(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On PostgreSQL the stream is read through a named cursor: the server is asked for 7 rows at a time
    (``FETCH FORWARD 7``), so neither the driver nor the task holds the whole result."""
    url = f"postgresql://airflow:airflow@127.0.0.1:{postgres.port}/airflow"
    monkeypatch.setenv("AIRFLOW_CONN_PG_SHOP", url)
    source = sql_source("pg_shop")
    with closing(source.get_conn()) as db, closing(db.cursor()) as cursor:
        cursor.execute(
            "CREATE TABLE things AS SELECT g AS id, 'thing ' || g AS name FROM generate_series(1, 20) g"
        )
        db.commit()
    mapping, _ = _things(tmp_path, "SELECT id, name FROM things ORDER BY id")
    chunks = stream_chunks(source, mapping, "things", Window(T0, T1), rows=7)
    first = next(chunks)
    with closing(source.get_conn()) as db, closing(db.cursor()) as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE query LIKE 'FETCH%'")
        [(query,)] = cursor.fetchall()
    assert re.fullmatch(r'FETCH FORWARD 7 FROM "hubspot_commerce_[0-9a-f]{32}"', query)
    assert [first.num_rows, *(chunk.num_rows for chunk in chunks)] == [7, 7, 6]
    assert first.column("name").to_pylist()[:2] == ["thing 1", "thing 2"]


def test_a_connection_that_is_not_sql_is_refused_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", json.dumps({"conn_type": "hubspot", "password": "x"}))
    with pytest.raises(TypeError, match="connection 'shop' \\(type 'hubspot'\\) is not a SQL connection"):
        sql_source("shop")
    monkeypatch.setenv(
        "AIRFLOW_CONN_SHOP", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.db")})
    )
    assert sql_source("shop").get_df("SELECT 1 AS one")["one"].tolist() == [1]
