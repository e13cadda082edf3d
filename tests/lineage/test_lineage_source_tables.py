"""A source query's tables and column sources, named as common-sql's OpenLineage support names them:
compared with ``SQLExecuteQueryOperator`` on a real PostgreSQL, and the fallback on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

from hubspot_commerce.lineage.source_tables import source_tables
from hubspot_commerce.sync.column_lineage import stream_queries
from hubspot_commerce.sync.mapping import load_mapping


@pytest.fixture
def queries() -> dict[str, str]:
    return stream_queries(load_mapping())


def test_sqlite_tables_are_named_by_the_file_and_each_column_by_its_table(
    queries: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "shop.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_SHOP", json.dumps({"conn_type": "sqlite", "host": str(store)}))
    read = source_tables("shop", {"order_line_items": queries["order_line_items"], "carts": queries["carts"]})
    lines = read["order_line_items"]
    assert lines.namespace == f"sqlite://{store}"
    assert lines.tables == ["main.order_lines", "main.orders", "main.payments", "main.products"]
    assert lines.columns["product_name"] == [("main.products", "name")], "an alias, through its join"
    assert lines.columns["currency"] == [("main.orders", "currency")]
    assert lines.columns["sku"] == [("main.order_lines", "sku")]
    assert read["carts"].tables == ["main.carts"]


def test_postgres_tables_are_named_as_sql_execute_query_operator_names_them(
    queries: dict[str, str], postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The namespace from the hook (``postgres://host:port``), ``database.schema.table`` from the parser with
    the hook's current schema: the same names the SQL operator gives the same query."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_PG_SHOP", f"postgresql://airflow:airflow@127.0.0.1:{postgres.port}/airflow"
    )
    read = source_tables("pg_shop", {"payments": queries["payments"]})["payments"]
    namespace = f"postgres://127.0.0.1:{postgres.port}"
    assert (read.namespace, read.tables) == (namespace, ["airflow.public.orders", "airflow.public.payments"])
    assert read.columns["customer_id"] == [("airflow.public.orders", "customer_id")]
    read_payments = SQLExecuteQueryOperator(
        task_id="read_payments", conn_id="pg_shop", sql=queries["payments"]
    )
    lineage = read_payments.get_openlineage_facets_on_start()
    assert sorted((d.namespace, d.name) for d in lineage.inputs) == [(namespace, t) for t in read.tables]
