"""The docs' SQL as the tests run it: on a small sample store (with the sync state table and the tables a
page creates), rendered like the sync renders it, for a full refresh and for a window; and the source
columns a stream's mapping names, which its query must return."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import jinja2
from doc_pages import marked

from hubspot_commerce.sync.extract import Window
from hubspot_commerce.sync.mapping import StreamMapping, template_columns
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce_lab.sample_store import StoreSize, generate_store

WINDOWS = (
    Window(None, None, full_refresh=True),
    Window(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)),
)
SMALL = StoreSize(products=30, customers=40, orders=60, carts=20)


def page_sql_files(page: str) -> dict[str, str]:
    """The SQL files a page shows (titled ``sql-store`` blocks), by file name."""
    return {
        block.file_name: block.text for block in marked("sql-store") if block.page == page and block.title
    }


@contextlib.contextmanager
def sample_store(folder: Path, page: str) -> Iterator[sqlite3.Connection]:
    """A small sample store with the sync state table, and the tables the page's SQL creates."""
    from hubspot_commerce.sync.state import SyncState

    path = folder / "store.sqlite"
    generate_store(path, SMALL)
    with sqlite3.connect(path) as db:
        db.execute(SyncState(lambda: None).create_sql())  # the table as the sync creates it (no hook needed)
        for block in marked("sql-store"):
            if block.page == page and block.text.lstrip().upper().startswith("CREATE"):
                db.executescript(block.text)
        yield db


def render(text: str, files: dict[str, str], window: Window) -> str:
    """A SQL template as the sync renders it: the package's ``_selection.sql``, the page's own files."""
    loader = jinja2.ChoiceLoader([jinja2.DictLoader(files), jinja2.FileSystemLoader(include_path("sql"))])
    env = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False)
    return env.from_string(text).render(window.template_context())


def named_columns(stream: StreamMapping) -> set[str]:
    """Every source column a stream's mapping names: columns, template and key fields, reference keys."""
    columns = template_columns(stream.key) | {rule.column for rule in stream.properties if rule.column}
    columns |= {
        name for rule in stream.properties if rule.template for name in template_columns(rule.template)
    }
    columns |= {name for ref in stream.references for name in template_columns(ref.key)}
    return columns | ({stream.deleted_column} if stream.deleted_column else set())
