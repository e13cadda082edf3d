"""The worked example of docs/how-to/postgres-other-names.md, end to end, from the page's own blocks: a
PostgreSQL warehouse whose tables and columns have other names than the sample store's (the page's schema,
filled with a small sample store's rows), the page's SQL files and mapping, its check and its run, into the
sandbox; then HubSpot is compared with the sample store record by record, and the page's query is run."""

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from doc_pages import Block, marked
from source_queries import SMALL, WINDOWS

from hubspot_commerce.sync.mapping import SyncMapping, format_template, load_mapping
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce_lab.distributed.graph_check import check_graph
from hubspot_commerce_lab.distributed.hubspot_reader import HubSpotReader
from hubspot_commerce_lab.sample_store import generate_store

pytestmark = [pytest.mark.usefixtures("airflow_db"), pytest.mark.timeout(300)]
PAGE = "how-to/postgres-other-names.md"
# The sample store's tables as the page's warehouse names them: table, then "column:warehouse_column ...".
RENAMES = {
    "products": ("shop.catalog_items", "sku:item_code name:title description:summary price:list_price "
                 "cost:unit_cost product_type:kind updated_at:modified_at"),
    "customers": ("shop.clients", "customer_id:client_id email:email_address first_name:given_name "
                  "last_name:family_name phone:phone_number updated_at:modified_at"),
    "orders": ("shop.purchases", "order_id:purchase_id customer_id:client_id order_number:purchase_ref "
               "status:fulfilment_state currency:currency_code subtotal:subtotal discount:discount_amount "
               "tax:tax_amount shipping_cost:shipping_amount total:grand_total placed_at:ordered_at "
               "updated_at:modified_at"),
    "order_lines": ("shop.purchase_items", "order_id:purchase_id line_number:line_no sku:item_code "
                    "quantity:qty unit_price:price_each discount:discount_amount"),
    "payments": ("shop.transactions", "payment_id:transaction_id order_id:purchase_id amount:amount "
                 "currency:currency_code method:method status:state initiated_at:started_at "
                 "reference:reference updated_at:modified_at"),
    "carts": ("shop.baskets", "cart_id:basket_id customer_id:client_id status:state currency:currency_code "
              "total:total url:url created_at:created_at updated_at:modified_at"),
    "cart_lines": ("shop.basket_items", "cart_id:basket_id line_number:line_no sku:item_code quantity:qty "
                   "unit_price:price_each"),
}  # fmt: skip
WAREHOUSE = {
    table: (target, dict(pair.split(":") for pair in columns.split()))
    for table, (target, columns) in RENAMES.items()
}
TIMESTAMPS = {"updated_at", "placed_at", "initiated_at", "created_at"}
SHOP_STATES = {"open": "new", "processed": "paid", "shipped": "dispatched"}  # the shop's words for orders


def only(what: str) -> Block:
    (block,) = [block for block in marked(what) if block.page == PAGE]
    return block


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    generate_store(path, SMALL)
    return path


@pytest.fixture
def warehouse(postgres: Any, store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The page's schema in PostgreSQL, holding the sample store's rows under the shop's names; the page's
    ``commerce_source`` pointed at it."""
    import psycopg2

    url = f"postgresql://airflow:airflow@127.0.0.1:{postgres.port}/airflow"
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", url)
    monkeypatch.setenv("PGTZ", "America/New_York")  # sessions not in UTC: the page's SQL compares in UTC
    with closing(psycopg2.connect(url)) as db, closing(sqlite3.connect(store)) as source:
        with db.cursor() as cursor:
            cursor.execute("DROP SCHEMA IF EXISTS shop CASCADE; DROP TABLE IF EXISTS hubspot_sync_state")
            cursor.execute(only("postgres-warehouse").text)
            for table, (target, columns) in WAREHOUSE.items():
                selected = source.execute(f"SELECT {', '.join(columns)} FROM {table}")
                rows = [warehouse_row(row, columns) for row in selected]
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {target} ({', '.join(columns.values())}) VALUES ({marks})", rows
                )
        db.commit()
        yield db


def warehouse_row(row: tuple, columns: dict[str, str]) -> tuple:
    """A sample store row as the shop keeps it: timestamps in UTC with their zone, the shop's order states."""
    values = []
    for column, value in zip(columns, row, strict=True):
        if column in TIMESTAMPS and value is not None:
            value = f"{value}+00"
        elif columns[column] == "fulfilment_state":
            value = SHOP_STATES.get(value, value)
        values.append(value)
    return tuple(values)


@pytest.fixture
def shop_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """``~/shop`` as the page leaves it: the package's files copied, the page's SQL files and mapping in,
    named by the page's settings."""
    shop = tmp_path / "shop"
    shutil.copytree(include_path("sql"), shop / "sql")
    for block in (block for block in marked("postgres-sql-file") if block.page == PAGE):
        (shop / "sql" / block.file_name).write_text(block.text)
    mapping = yaml.safe_load(include_path("mappings", "commerce.yaml").read_text())
    mapping["streams"].update(yaml.safe_load(only("postgres-mapping").text))
    (shop / "commerce.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__MAPPING_PATH", str(shop / "commerce.yaml"))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__SQL_DIR", str(shop / "sql"))
    return shop / "commerce.yaml", shop / "sql"


def query_keys(db: Any, sql_dir: Path, mapping: SyncMapping, stream: str, window: Any) -> set[str]:
    """The source keys a stream's query selects for a window, on a DB-API connection."""
    import pandas as pd

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(sql_dir), undefined=jinja2.StrictUndefined)
    sql = env.get_template(f"{mapping.streams[stream].sql}.sql").render(window.template_context())
    cursor = db.cursor()
    cursor.execute(sql)
    frame = pd.DataFrame(cursor.fetchall(), columns=[column[0] for column in cursor.description])
    return set(format_template(frame, mapping.streams[stream].key).dropna()) if len(frame) else set()


def test_the_pages_sql_selects_what_the_packages_selects_on_the_sample_store(
    warehouse: Any, store: Path, shop_files: tuple[Path, Path]
) -> None:
    """For a full refresh and a month's window, every stream's query on the shop's warehouse selects the rows
    the package's query selects on the sample store: the same keys, the window compared in UTC."""
    mapping_path, sql_dir = shop_files
    shop, package = load_mapping(mapping_path, sql_dir), load_mapping()
    with closing(sqlite3.connect(store)) as sample:
        for window in WINDOWS:
            for name in package.streams:
                expected = query_keys(sample, include_path("sql"), package, name, window)
                assert query_keys(warehouse, sql_dir, shop, name, window) == expected, (name, window)
                assert expected or window is WINDOWS[1], name


def test_the_pages_time_zone_fragments_run_on_postgresql(warehouse: Any) -> None:
    for block in marked("postgres-fragment"):
        for window in WINDOWS:
            template = '{% from "_selection.sql" import in_window with context %}'
            sql = "SELECT count(*) FROM (SELECT now() AS updated_at) AS t WHERE " + block.text.strip()
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(include_path("sql")))
            with warehouse.cursor() as cursor:
                cursor.execute(env.from_string(template + sql).render(window.template_context()))
                assert cursor.fetchone()[0] in (0, 1)


def test_the_walkthrough_syncs_the_warehouse_into_the_sandbox(
    warehouse: Any, store: Path, shop_files: tuple[Path, Path], sandbox: Any, hubspot_conn: str
) -> None:
    """The page's check passes, its run succeeds, HubSpot holds the sample store exactly (every record once,
    exact values, every link), and the page's query joins a HubSpot id onto every purchase."""
    from airflow.dag_processing.dagbag import DagBag

    mapping_path, _ = shop_files
    (check,) = [shlex.split(line) for line in only("postgres-check").text.splitlines()]
    home = str(mapping_path.parent.parent)
    argv = [arg.replace("~", home) for arg in check]
    executable = str(Path(sys.executable).with_name(argv[0]))
    checked = subprocess.run(
        [executable, *argv[1:]], capture_output=True, text=True, timeout=180, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "FAIL" not in checked.stdout

    (run,) = [shlex.split(line) for line in only("postgres-run").text.splitlines()]
    bag = DagBag(dag_folder=str(Path(__file__).resolve().parents[2] / "dags"))
    assert not bag.import_errors, bag.import_errors
    dag = bag.dags["hubspot_commerce_sync"]
    for task in dag.tasks:
        task.retries = 0
    assert dag.test(run_conf=json.loads(run[run.index("-c") + 1])).state == "success"

    result = check_graph(HubSpotReader(sandbox.url, sandbox.token), store)
    assert result.ok, result.describe()
    assert result.checked["orders"] == SMALL.orders
    with warehouse.cursor() as cursor:
        cursor.execute(only("postgres-query").text)
        joined = cursor.fetchall()
    assert len(joined) == SMALL.orders
    assert {row[2] for row in joined} == {record["id"] for record in sandbox.dump("orders")}
    assert {row[3] for row in joined} == {"created"}


def test_the_walkthrough_names_the_files_the_mapping_reads() -> None:
    """The page gives ``_selection.sql`` and a file for every stream's query, each once."""
    names = [block.file_name for block in marked("postgres-sql-file") if block.page == PAGE]
    streams = yaml.safe_load(include_path("mappings", "commerce.yaml").read_text())["streams"].values()
    assert sorted(names) == sorted({"_selection.sql", *(f"{stream['sql']}.sql" for stream in streams)})
