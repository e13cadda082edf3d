"""The requests sent to HubSpot per portal day, kept in a SQL table so that every task and run adds up.

HubSpot sends no daily rate-limit headers on OAuth-authorized requests, so the day's remaining quota is the
connection's configured daily limit minus what this table recorded for the portal's day. The hook counts its
requests in memory and adds them in one statement (``UPDATE ... SET requests = requests + ?``), which the
database applies atomically: workers that share no disk, and tasks that run at once, add up without losing
an increment. One row per portal and day (the portal's date, in its time zone).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any, Protocol

from hubspot_commerce.errors import HubSpotConfigurationError

DEFAULT_USAGE_TABLE = "hubspot_request_usage"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


class SqlHook(Protocol):
    """What the usage table needs from a common-sql ``DbApiHook``."""

    placeholder: str

    def run(self, sql: str, autocommit: bool = False, parameters: Any = None) -> Any: ...

    def get_records(self, sql: str, parameters: Any = None) -> Any: ...


class RequestUsage:
    """Requests counted and not yet recorded (thread-safe), and the table they are added to (created if
    missing, on first use)."""

    def __init__(self, connect: Callable[[], SqlHook], table: str = DEFAULT_USAGE_TABLE) -> None:
        if not IDENTIFIER.fullmatch(table):
            raise HubSpotConfigurationError(f"usage table {table!r} is not a plain SQL name (schema.table)")
        self.connect, self.table = connect, table
        self._lock = threading.Lock()
        self._unrecorded = 0

    def count(self, requests: int = 1) -> None:
        """Count requests sent (any thread); :meth:`record` adds them to the table."""
        with self._lock:
            self._unrecorded += requests

    @property
    def unrecorded(self) -> int:
        """Requests counted since the last :meth:`record`."""
        return self._unrecorded

    @cached_property
    def hook(self) -> SqlHook:
        """The SQL hook, with the table created if it does not exist (portable SQL)."""
        hook = self.connect()
        if hasattr(hook, "log_sql"):
            hook.log_sql = False  # four statements per record: the task log would be mostly these
        hook.run(
            f"CREATE TABLE IF NOT EXISTS {self.table} (portal VARCHAR(40) NOT NULL, "
            "day VARCHAR(10) NOT NULL, requests BIGINT NOT NULL, PRIMARY KEY (portal, day))",
            autocommit=True,
        )
        return hook

    def record(self, portal: str, day: str) -> int:
        """Add the unrecorded requests to the portal's day; returns how many. A failed statement keeps
        them counted for the next try."""
        with self._lock:
            requests, self._unrecorded = self._unrecorded, 0
        if not requests:
            return 0
        try:
            self._ensure_row(portal, day)
            sql = f"UPDATE {self.table} SET requests = requests + {self.hook.placeholder} WHERE {self._row}"
            self.hook.run(sql, autocommit=True, parameters=(requests, portal, day))
        except BaseException:
            self.count(requests)
            raise
        return requests

    def used(self, portal: str, day: str) -> int:
        """Requests recorded for the portal's day (0 for a day never recorded)."""
        sql = f"SELECT requests FROM {self.table} WHERE {self._row}"
        records = self.hook.get_records(sql, parameters=(portal, day))
        return int(records[0][0]) if records else 0

    def _ensure_row(self, portal: str, day: str) -> None:
        """Insert the day's row with 0 requests if it is missing. Two tasks may both find it missing: the
        second insert fails on the key, and is fine when the row is there now (a driver-specific error, so
        any error is checked that way)."""
        if self._has_row(portal, day):
            return
        mark = self.hook.placeholder
        sql = f"INSERT INTO {self.table} (portal, day, requests) VALUES ({mark}, {mark}, 0)"
        try:
            self.hook.run(sql, autocommit=True, parameters=(portal, day))
        except Exception:
            if not self._has_row(portal, day):
                raise

    def _has_row(self, portal: str, day: str) -> bool:
        sql = f"SELECT 1 FROM {self.table} WHERE {self._row}"
        return bool(self.hook.get_records(sql, parameters=(portal, day)))

    @property
    def _row(self) -> str:
        """The condition that selects one portal's day (parameters: portal, day)."""
        return f"portal = {self.hook.placeholder} AND day = {self.hook.placeholder}"
