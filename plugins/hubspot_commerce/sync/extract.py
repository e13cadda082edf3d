"""Read the run's source rows: the window, the templated SQL in ``include/sql/``, a stream a chunk at a time.

Extraction goes through any common-sql ``DbApiHook`` (the DB-API connection of its ``get_conn``), so every
database with an Airflow provider works; the demo's is SQLite. Rows are fetched ``fetchmany`` at a time, on
PostgreSQL through a server-side cursor, so neither the driver nor the task ever holds a whole stream.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jinja2
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from airflow.sdk import BaseHook

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.mapping import SyncMapping
from hubspot_commerce.sync.run_options import RunOptions, as_utc

log = logging.getLogger(__name__)

# The literal format of window bounds in the SQL: ISO 8601 with a space, which compares correctly with text
# timestamps (SQLite) and casts implicitly to a timestamp in other databases.
SQL_TIMESTAMP = "%Y-%m-%d %H:%M:%S"


# Drivers whose cursors hold a query's whole result unless the cursor is named (server-side): psycopg 2 and 3.
SERVER_SIDE_CURSOR_DRIVERS = ("psycopg2", "psycopg")


class SqlSource(Protocol):
    """What the sync needs from a common-sql ``DbApiHook``: a DB-API connection (``get_conn``) to read rows in
    chunks, and ``get_df`` for small queries (the connection check)."""

    def get_conn(self) -> Any: ...

    def get_df(self, sql: str, parameters: Any = None, **kwargs: Any) -> pd.DataFrame: ...


def sql_source(conn_id: str) -> SqlSource:
    """The hook of a SQL connection (common-sql ``DbApiHook``); another connection type is refused by name."""
    connection = BaseHook.get_connection(conn_id)
    source = connection.get_hook()
    if not hasattr(source, "get_df"):
        raise TypeError(
            f"connection {conn_id!r} (type {connection.conn_type!r}) is not a SQL connection: its hook has "
            "no get_df (use a common-sql DbApiHook connection)"
        )
    return source


@dataclass(frozen=True)
class Window:
    """The rows a run syncs: ``updated_at`` in ``[start, end)``, or everything on a full refresh."""

    start: datetime | None
    end: datetime | None
    full_refresh: bool = False

    def describe(self) -> str:
        if self.full_refresh or self.start is None or self.end is None:
            return "full refresh (every row in the source)"
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"

    def template_context(self) -> dict[str, Any]:
        return {
            "full_refresh": self.full_refresh,
            "window_start": self.start.strftime(SQL_TIMESTAMP) if self.start else None,
            "window_end": self.end.strftime(SQL_TIMESTAMP) if self.end else None,
        }


def resolve_window(
    options: RunOptions,
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_after: datetime | None,
) -> Window:
    """The run's window: ``full_refresh``, else the ``window_start``/``window_end`` Params (both or neither:
    ``RunOptions.explicit_window``), else the data interval, else (a manual run without a logical date) the
    day before ``run_after``."""
    if options.full_refresh:
        return Window(None, None, full_refresh=True)
    explicit = options.explicit_window()
    if explicit is not None:
        window = Window(*explicit)
    elif data_interval_start is not None and data_interval_end is not None:
        window = Window(as_utc(data_interval_start), as_utc(data_interval_end))
    else:
        end_moment = as_utc(run_after or datetime.now(UTC))
        window = Window(end_moment - timedelta(days=1), end_moment)
    if window.start >= window.end:
        raise SyncConfigurationError(f"the window is empty: {window.describe()}")
    return window


def render_query(name: str, window: Window, sql_dir: Path) -> str:
    """The SQL of ``<sql_dir>/<name>.sql`` for this window."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(sql_dir), undefined=jinja2.StrictUndefined, autoescape=False
    )
    try:
        return env.get_template(f"{name}.sql").render(window.template_context())
    except jinja2.TemplateError as exc:
        raise SyncConfigurationError(f"{sql_dir / name}.sql: {type(exc).__name__}: {exc}") from exc


# What a source says when a query itself is wrong (a dropped column, a typo), as opposed to the database
# being unreachable, which a later try may get past: SQLite, PostgreSQL, MySQL, Snowflake, BigQuery wording.
QUERY_ERROR = re.compile(
    r"no such (column|table)|syntax error|does not exist|unknown column|invalid identifier|"
    r"undefined (column|table)|unrecognized name|not found: (table|dataset)",
    re.IGNORECASE,
)


def is_query_error(exc: BaseException) -> bool:
    """Whether the source refused the query itself (DB-API ``ProgrammingError``, or its wording)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "ProgrammingError" in names or QUERY_ERROR.search(str(exc)) is not None


def stream_chunks(
    source: SqlSource, mapping: SyncMapping, name: str, window: Window, rows: int
) -> Iterator[pa.Table]:
    """The stream's rows in the window, ``rows`` at a time, as Arrow tables (``fetch_chunks``). A query the
    source refuses fails as ``SyncConfigurationError`` naming its file; anything else (the database
    unreachable) is raised as it is, for the task's retries."""
    stream = mapping.streams[name]
    sql_file = f"{mapping.sql_dir / stream.sql}.sql"
    sql = render_query(stream.sql, window, mapping.sql_dir)
    connection = source.get_conn()
    try:
        cursor = streaming_cursor(connection)
        try:
            yield from fetch_chunks(cursor, sql, rows)
        except SyncConfigurationError as exc:
            raise SyncConfigurationError(f"stream {name}: {sql_file}: {exc}") from exc
        except Exception as exc:
            if not is_query_error(exc):
                raise
            first_line = str(exc).strip().splitlines()[0][:300]
            refused = f"stream {name}: the source refused {sql_file}: {first_line}"
            raise SyncConfigurationError(refused) from exc
        finally:
            cursor.close()
    finally:
        connection.close()


def streaming_cursor(connection: Any) -> Any:
    """A cursor that does not hold the whole result: on PostgreSQL a named (server-side) one, whose
    ``fetchmany`` fetches that many rows from the server; other drivers' cursors (SQLite's) fetch lazily."""
    if type(connection).__module__.split(".")[0] in SERVER_SIDE_CURSOR_DRIVERS:
        return connection.cursor(name=f"hubspot_commerce_{uuid.uuid4().hex}")
    return connection.cursor()


def fetch_chunks(cursor: Any, sql: str, rows: int) -> Iterator[pa.Table]:
    """A query's rows, ``rows`` at a time (``fetchmany``), as Arrow tables; the first one even when there are
    none, for the columns (a server-side cursor describes them once it has fetched)."""
    cursor.execute(sql)
    chunk = cursor.fetchmany(rows)
    columns = [column[0] for column in cursor.description]
    yield rows_table(columns, chunk)
    while chunk := cursor.fetchmany(rows):
        yield rows_table(columns, chunk)


def rows_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    """DB-API rows as an Arrow table, each column typed by its values as pandas would type them (integers
    next to NULLs stay integers, integers next to floats become floats, a column of NULLs is NULL-typed).

    A column whose values share no type (``12.50`` next to ``free`` in a text-typed price, a decimal NaN,
    an integer beyond 64 bits) is read as text, each value as it came: one value must never cost the other
    rows. Validation then rejects the rows whose value does not fit the mapping, naming property and value.
    """
    arrays = []
    for name, values in zip(columns, zip(*rows, strict=True) if rows else [()] * len(columns), strict=True):
        try:
            array = pa.array(values)
        except (pa.ArrowException, OverflowError) as exc:
            log.info("column %r holds values of more than one type (%s): read as text", name, exc)
            array = pa.array([source_text(value) for value in values], pa.string())
        if pa.types.is_floating(array.type) and pc.any(pc.is_nan(array)).as_py():
            # NaN is a value, not a missing one: as text it is refused by name instead of passing as empty.
            array = pa.array([source_text(value) for value in values], pa.string())
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=list(columns))


def source_text(value: Any) -> str | None:
    """A source value as text, as a user would write it: ``true``/``false``, ISO 8601 dates, decimals as
    they are (``NaN``, ``1E+40``), UTF-8 bytes decoded."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)
