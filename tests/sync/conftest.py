"""Fixtures for the sync's pure tests: a small sample store, its rows extracted, the portal's property
definitions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import read_table
from hubspot_commerce.sync.extract import Window
from hubspot_commerce.sync.mapping import SyncMapping, load_mapping
from hubspot_commerce.sync.tasks.extract_task import extract_step
from hubspot_commerce.sync.tasks.task_context import RunContext
from hubspot_commerce_lab.sample_store import StoreSize, generate_store

SMALL = StoreSize(products=20, customers=25, orders=40, carts=10)
FULL_REFRESH = Window(None, None, full_refresh=True)


class SqliteSource:
    """The one method extraction uses from a common-sql hook (``get_conn``), over a plain SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def get_conn(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path)


Extract = Callable[..., dict[str, pd.DataFrame]]


@pytest.fixture
def extract(source: SqliteSource, mapping: SyncMapping, tmp_path: Path) -> Extract:
    """``extract(window, chunk_rows)``: every stream's rows as ``extract_step`` leaves them in a run's
    storage (a full refresh in chunks of 7 rows by default), each read back whole."""

    def extract_frames(window: Window = FULL_REFRESH, chunk_rows: int = 7) -> dict[str, pd.DataFrame]:
        files = RunStorage.for_run(f"file://{tmp_path}", "sync", f"extract-{chunk_rows}")
        extract_step(RunContext(mapping, files), source, window, chunk_rows)
        return {name: read_table(files.source(name)) for name in mapping.streams}

    return extract_frames


@pytest.fixture
def files(tmp_path: Path) -> RunStorage:
    """A run's storage in a temporary directory, under a manual run's id."""
    return RunStorage.for_run(f"file://{tmp_path}", "sync", "manual__2026-11-28T10:00:00+00:00")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    generate_store(path, SMALL)
    return path


@pytest.fixture
def source(store: Path) -> Iterator[SqliteSource]:
    yield SqliteSource(store)


@pytest.fixture(scope="session")
def mapping() -> SyncMapping:
    return load_mapping()


def prop(name: str, kind: str = "string", options: tuple[str, ...] = (), read_only: bool = False) -> dict:
    """A property definition shaped like HubSpot's properties API answer; a stage's label is its name."""
    return {
        "name": name,
        "type": kind,
        "options": [{"value": value, "label": STAGES.get(value, value)} for value in options],
        "modificationMetadata": {"readOnlyValue": read_only},
        "calculated": False,
    }


STAGES = {  # HubSpot's default Order Pipeline: stage id -> label
    "4b27b500-f031-4927-9811-68a0b525cbae": "Open",
    "937ea84d-0a4f-4dcf-9028-3f9c2aafbf03": "Processed",
    "aa99e8d0-c1d5-4071-b915-d240bbb1aed9": "Shipped",
    "3725360f-519b-4b18-a593-494d60a29c9f": "Delivered",
    "3c85a297-e9ce-400b-b42e-9f16853d69d6": "Cancelled",
}
CURRENCIES = ("USD", "EUR", "GBP")


@pytest.fixture(scope="session")
def definitions() -> dict[str, list[dict]]:
    """The properties the default mapping writes, typed as HubSpot types them (written here by hand from
    HubSpot's object guides, independently of the sandbox)."""
    line_items = [
        prop("name"),
        prop("hs_sku"),
        prop("quantity", "number"),
        prop("price", "number"),
        prop("discount", "number"),
        prop("hs_line_item_currency_code", "enumeration", CURRENCIES),
        prop("hs_product_id", "number"),
        prop("amount", "number", read_only=True),
        prop("airflow_source_key"),
    ]
    return {
        "products": [
            prop("hs_sku"),
            prop("name"),
            prop("description"),
            prop("price", "number"),
            prop("hs_cost_of_goods_sold", "number"),
            prop("hs_product_type", "enumeration", ("inventory", "non_inventory", "service")),
        ],
        "contacts": [prop("email"), prop("firstname"), prop("lastname"), prop("phone")],
        "orders": [
            prop("hs_external_order_id"),
            prop("hs_order_name"),
            prop("hs_currency_code", "enumeration", CURRENCIES),
            prop("hs_subtotal_price", "number"),
            prop("hs_order_discount", "number"),
            prop("hs_tax", "number"),
            prop("hs_shipping_cost", "number"),
            prop("hs_total_price", "number"),
            prop("hs_external_order_status"),
            prop("hs_pipeline", "enumeration", ("14a2e10e-5471-408a-906e-c51f3b04369e",)),
            prop("hs_pipeline_stage", "enumeration", tuple(STAGES)),
            prop("hs_external_created_date", "datetime"),
            prop("airflow_source_key"),
        ],
        "line_items": line_items,
        "commerce_payments": [
            prop("hs_initial_amount", "number"),
            prop("hs_currency_code", "enumeration", CURRENCIES),
            prop("hs_initiated_date", "datetime"),
            prop(
                "hs_payment_method_type",
                "enumeration",
                ("card", "ach", "cash", "check", "wire_transfer", "other", "sepa", "bacs", "pads"),
            ),
            prop(
                "hs_latest_status",
                "enumeration",
                ("processing", "succeeded", "failed", "partially_refunded", "refunded"),
            ),
            prop("hs_reference_number"),
            prop("airflow_source_key"),
        ],
        "carts": [
            prop("hs_external_cart_id"),
            prop("hs_cart_name"),
            prop("hs_currency_code", "enumeration", CURRENCIES),
            prop("hs_total_price", "number"),
            prop("hs_cart_url"),
            prop("hs_external_status"),
            prop("hs_external_created_date", "datetime"),
            prop("hs_external_updated_date", "datetime"),
            prop("airflow_source_key"),
        ],
    }
