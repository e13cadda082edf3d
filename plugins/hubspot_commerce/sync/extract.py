"""Read the run's source rows: the window, the templated SQL in ``include/sql/``, one DataFrame per stream.

Extraction goes through any common-sql ``DbApiHook`` (``get_df``), so every database with an Airflow provider
works; the demo's is SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jinja2
import pandas as pd
from airflow.sdk import BaseHook

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.mapping import SyncMapping

# The literal format of window bounds in the SQL: ISO 8601 with a space, which compares correctly with text
# timestamps (SQLite) and casts implicitly to a timestamp in other databases.
SQL_TIMESTAMP = "%Y-%m-%d %H:%M:%S"


class DataFrameSource(Protocol):
    """What extraction needs from a hook: common-sql's ``DbApiHook.get_df``."""

    def get_df(self, sql: str, parameters: Any = None, **kwargs: Any) -> pd.DataFrame: ...


def sql_source(conn_id: str) -> DataFrameSource:
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


def parse_timestamp(value: str | datetime) -> datetime:
    """An ISO 8601 date or timestamp as an aware UTC datetime (naive values are taken as UTC)."""
    try:
        moment = (
            value
            if isinstance(value, datetime)
            else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        )
    except ValueError as exc:
        raise SyncConfigurationError(f"{value!r} is not an ISO 8601 date or timestamp") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve_window(
    params: Mapping[str, Any],
    data_interval_start: datetime | None,
    data_interval_end: datetime | None,
    run_after: datetime | None,
) -> Window:
    """The run's window: ``full_refresh``, else the ``window_start``/``window_end`` Params, else the data
    interval, else (a manual run without a logical date) the day before ``run_after``."""
    if params.get("full_refresh"):
        return Window(None, None, full_refresh=True)
    start = params.get("window_start")
    end = params.get("window_end")
    if start or end:
        if not (start and end):
            raise SyncConfigurationError(
                f"window_start and window_end must be given together (got window_start={start!r}, "
                f"window_end={end!r})"
            )
        window = Window(parse_timestamp(start), parse_timestamp(end))
    elif data_interval_start is not None and data_interval_end is not None:
        window = Window(parse_timestamp(data_interval_start), parse_timestamp(data_interval_end))
    else:
        end_moment = parse_timestamp(run_after or datetime.now(UTC))
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


def extract_streams(source: DataFrameSource, mapping: SyncMapping, window: Window) -> dict[str, pd.DataFrame]:
    """One DataFrame per stream, with nullable dtypes so integer keys stay integers next to NULLs. A query
    the source refuses fails as ``SyncConfigurationError`` naming its file; anything else (the database
    unreachable) is raised as it is, for the task's retries."""
    frames: dict[str, pd.DataFrame] = {}
    for name, stream in mapping.streams.items():
        sql = render_query(stream.sql, window, mapping.sql_dir)
        try:
            frames[name] = source.get_df(sql, df_type="pandas", dtype_backend="numpy_nullable")
        except Exception as exc:
            if not is_query_error(exc):
                raise
            first_line = str(exc).strip().splitlines()[0][:300]
            raise SyncConfigurationError(
                f"stream {name}: the source refused {mapping.sql_dir / stream.sql}.sql: {first_line}"
            ) from exc
    return frames
