"""The sync state table: per stream and source key, the HubSpot id, a hash of what was last written, the
last outcome and when, kept in the user's database through a common-sql hook.

Planning reads it instead of HubSpot (an unchanged row costs no request, a changed one is updated by its
known id), and analysts join ``hubspot_id`` back onto their own tables. Writes are batched
(``insert_rows`` with ``executemany``), one statement per thousand rows.

It lives where ``[hubspot_commerce] state_conn_id`` and ``state_table`` say (default: the source connection).
``extract`` creates it and proves it takes writes before anything is written to HubSpot, so missing rights
fail there at once, naming the grant; a dry run creates nothing and plans as if a missing table were empty.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from functools import cached_property
from typing import Any, Protocol

import pandas as pd

from hubspot_commerce.errors import StateTableRefused, SyncConfigurationError
from hubspot_commerce.sync.id_index import IdIndex

log = logging.getLogger(__name__)
DEFAULT_TABLE = "hubspot_sync_state"
COLUMNS = ("stream", "source_key", "hubspot_id", "row_hash", "outcome", "reason", "synced_at")
READ_CHUNK = 500  # keys per SELECT ... IN (...): below every database's parameter limit
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
# The user lacks a right, or the database or session is read-only: SQLSTATE 42501 and 25006 (PostgreSQL,
# Redshift), MySQL's error numbers 1044, 1142, 1290, and the wording of these and other databases.
RIGHTS_SQLSTATES = frozenset({"42501", "25006"})
RIGHTS_ERRNOS = frozenset({1044, 1142, 1290})
RIGHTS_WORDING = re.compile(
    r"permission denied|insufficient privilege|access denied|command denied|not authori[sz]ed|"
    r"must be owner|read-?only",
    re.IGNORECASE,
)
# The table does not exist: SQLSTATE 42P01 (PostgreSQL), MySQL's 1146, and the wording of others.
MISSING_WORDING = re.compile(
    r"does not exist|doesn't exist|no such table|unknown table|undefined table", re.IGNORECASE
)
ELSEWHERE = "or set [hubspot_commerce] state_conn_id / state_table to a place it can write"


class SqlHook(Protocol):
    """What the state needs from a common-sql ``DbApiHook``."""

    placeholder: str

    def run(self, sql: str, autocommit: bool = False, parameters: Any = None) -> Any: ...

    def get_records(self, sql: str, parameters: Any = None) -> Any: ...

    def insert_rows(
        self, table: str, rows: Iterable[tuple], target_fields: Any = None, **kwargs: Any
    ) -> None: ...


@dataclass(frozen=True)
class StateRow:
    """One source row's state: where it is in HubSpot and what was last written there."""

    stream: str
    source_key: str
    hubspot_id: str | None
    row_hash: str | None
    outcome: str  # created, updated, unchanged, existing, rejected
    reason: str | None
    synced_at: str


@dataclass(frozen=True)
class Known:
    """What the state knows of one source key."""

    hubspot_id: str | None
    row_hash: str | None


class SyncState:
    """The state table in one SQL connection (``conn_id`` names it in messages), connected on first use: a
    run whose connection is missing still reports. ``missing_ok`` (a dry run): a table not created yet reads
    as empty instead of failing."""

    def __init__(
        self,
        connect: Callable[[], SqlHook],
        table: str = DEFAULT_TABLE,
        *,
        conn_id: str = "the state connection",
        missing_ok: bool = False,
    ) -> None:
        self.connect, self.table = connect, checked_table(table)
        self.conn_id, self.missing_ok = conn_id, missing_ok

    @cached_property
    def hook(self) -> SqlHook:
        hook = self.connect()
        if hasattr(hook, "log_sql"):
            hook.log_sql = False  # a statement per 500 keys would flood the task log with keys
        return hook

    def ensure_table(self, *, keep: bool = True) -> bool:
        """Create the table if it does not exist, then prove it takes the run's writes: a row inserted,
        updated and deleted, rolled back. ``keep=False`` (``hubspot-commerce check``) rolls the creation back
        too, which leaves nothing behind where the database's DDL is transactional (PostgreSQL). Missing
        rights raise ``StateTableRefused`` naming the grant. Returns whether the table existed."""
        existed = self.exists()  # asked apart: a failed query would abort PostgreSQL's transaction
        connection = self.hook.get_conn()
        try:
            cursor = connection.cursor()
            if not existed:
                self._execute(cursor, "create", self.create_sql())
                if keep:
                    connection.commit()
            for sql, parameters in self.probe_statements():
                self._execute(cursor, "write", sql, parameters)
            connection.rollback()
        finally:
            connection.close()
        return existed

    def create_sql(self) -> str:
        """The table and its key (portable SQL: SQLite, PostgreSQL, MySQL...)."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table} (stream VARCHAR(200) NOT NULL, "
            "source_key VARCHAR(500) NOT NULL, hubspot_id VARCHAR(40), row_hash VARCHAR(64), "
            "outcome VARCHAR(20) NOT NULL, reason TEXT, synced_at VARCHAR(40) NOT NULL, "
            "PRIMARY KEY (stream, source_key))"
        )

    def probe_statements(self) -> list[tuple[str, tuple[str, ...]]]:
        """A probe row inserted, updated and deleted: the writes a run makes (``insert_rows`` with replace is
        an upsert, a replace or a delete and insert, by database)."""
        mark, probe = self.hook.placeholder, ("hubspot-commerce probe", "probe")
        where = f"WHERE stream = {mark} AND source_key = {mark}"
        columns = f"{self.table} (stream, source_key, outcome, synced_at)"
        return [
            (f"INSERT INTO {columns} VALUES ({mark}, {mark}, {mark}, {mark})", (*probe, "unchanged", "")),
            (f"UPDATE {self.table} SET reason = NULL {where}", probe),
            (f"DELETE FROM {self.table} {where}", probe),
        ]

    def _execute(self, cursor: Any, action: str, sql: str, parameters: Sequence[Any] = ()) -> None:
        """One statement of ``ensure_table`` on a connection that just answered: whatever the database
        refuses (rights, a schema that does not exist) is no outage, and fails at once in one sentence."""
        try:
            cursor.execute(sql, parameters) if parameters else cursor.execute(sql)
        except Exception as exc:
            raise self.refusal(action, exc) from exc

    def refusal(self, action: str, exc: BaseException) -> StateTableRefused:
        """The error of a refused ``create``, ``read`` or ``write``: for rights, the grant, naming the user
        the connection logs in as (a login is no secret); else where else the table can go."""
        login = getattr(getattr(self.hook, "connection", None), "login", None)
        return state_refusal(action, self.table, self.conn_id, exc, login)

    @cached_property
    def missing(self) -> bool:
        """Whether a dry run finds no table, asked once: its reads plan as if the table were empty."""
        return self.missing_ok and not self.exists()

    def exists(self) -> bool:
        """Whether the table exists (a query of no rows); a refusal to read it names the grant."""
        try:
            self.hook.get_records(f"SELECT stream FROM {self.table} WHERE 1 = 0")
        except Exception as exc:
            if is_missing_table(exc):
                return False
            if lacks_rights(exc):
                raise self.refusal("read", exc) from exc
            raise
        return True

    def load(self, stream: str, keys: Sequence[str]) -> dict[str, Known]:
        """The state of the given keys of one stream, read in chunks; keys never recorded are absent (every
        key, on a dry run before the table exists)."""
        known: dict[str, Known] = {}
        if self.missing:
            return known  # a dry run before the table's first run: planned as if it were empty
        mark = self.hook.placeholder
        for start in range(0, len(keys), READ_CHUNK):
            chunk = list(keys[start : start + READ_CHUNK])
            sql = (
                f"SELECT source_key, hubspot_id, row_hash FROM {self.table} WHERE stream = {mark} "
                f"AND source_key IN ({', '.join([mark] * len(chunk))})"
            )
            for key, hubspot_id, row_hash in self.hook.get_records(sql, parameters=(stream, *chunk)):
                known[str(key)] = Known(hubspot_id and str(hubspot_id), row_hash)
        return known

    def save(self, rows: Iterable[StateRow]) -> int:
        """Insert or replace rows, a thousand per statement; returns how many."""
        values = [astuple(row) for row in rows]
        if values:
            self.hook.insert_rows(
                self.table,
                values,
                target_fields=list(COLUMNS),
                commit_every=1000,
                replace=True,
                replace_index=["stream", "source_key"],
                executemany=True,
            )
        return len(values)


def outcome_rows(
    stream: str,
    planned: pd.DataFrame,
    written: IdIndex | None,
    refused: Mapping[str, str],
    synced_at: str,
    existing: frozenset[str] | set[str] = frozenset(),
) -> list[StateRow]:
    """The state of a planned stream after its writes: unchanged rows as they were, written rows with the
    id HubSpot gave (a new one for a record the update task created anew; ``written``: the write tasks'
    ids), rows HubSpot refused with its reason and no hash (so the next run tries again). ``written`` is
    None when a write task did not finish: its rows keep the state they had, which stays true (a create
    that landed anyway is found again by its unique key). ``existing`` creates found a record HubSpot
    already held: its values were written, its links not checked, so it gets no hash either (the next run
    updates it and adds its links)."""
    rows = []
    outcome = {"create": "created", "update": "updated", "unchanged": "unchanged"}
    new_ids = written.lookup(planned["key"]) if written is not None else [pd.NA] * len(planned)
    columns = planned[["key", "hubspot_id", "row_hash", "planned"]].itertuples(index=False)
    for (key, known_id, row_hash, planned_as), new_id in zip(columns, new_ids, strict=True):
        known_id = None if pd.isna(known_id) else str(known_id)
        if planned_as == "unchanged":
            rows.append(StateRow(stream, key, known_id, row_hash, "unchanged", None, synced_at))
        elif key in refused:
            rows.append(StateRow(stream, key, known_id, None, "rejected", refused[key], synced_at))
        elif pd.notna(new_id):
            status, kept_hash = ("existing", None) if key in existing else (outcome[planned_as], row_hash)
            rows.append(StateRow(stream, key, str(new_id), kept_hash, status, None, synced_at))
    return rows


def rejected_rows(
    stream: str, reasons: Mapping[str, str], known: Mapping[str, Known], synced_at: str
) -> list[StateRow]:
    """Rows rejected before sending: their reason, the id the state knew (kept), and no hash."""
    return [
        StateRow(
            stream, key, known[key].hubspot_id if key in known else None, None, "rejected", reason, synced_at
        )
        for key, reason in reasons.items()
    ]


def checked_table(table: str) -> str:
    """``table`` if it is a plain SQL name (``table`` or ``schema.table``), else SyncConfigurationError."""
    if not IDENTIFIER.fullmatch(table):
        raise SyncConfigurationError(f"state table {table!r} is not a plain SQL name (table or schema.table)")
    return table


def first_line(exc: BaseException) -> str:
    """An exception's message, its first line only (drivers add context and hints below it)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a driver attaches (psycopg 3 ``sqlstate``, psycopg2 ``pgcode``, others ``sqlstate``)."""
    return getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)


def error_number(exc: BaseException) -> int | None:
    """The error number MySQL's drivers give as the first argument."""
    return exc.args[0] if exc.args and isinstance(exc.args[0], int) else None


def lacks_rights(exc: BaseException) -> bool:
    """Whether the database refused a statement for the user's rights or a read-only database or session:
    by SQLSTATE, MySQL's error number, or wording (any database)."""
    return (
        sqlstate(exc) in RIGHTS_SQLSTATES
        or error_number(exc) in RIGHTS_ERRNOS
        or RIGHTS_WORDING.search(str(exc)) is not None
    )


def is_missing_table(exc: BaseException) -> bool:
    """Whether a query failed because its table does not exist (SQLSTATE 42P01, MySQL 1146, or wording)."""
    missing = sqlstate(exc) == "42P01" or error_number(exc) == 1146
    return missing or MISSING_WORDING.search(str(exc)) is not None


def state_refusal(
    action: str, table: str, conn_id: str, exc: BaseException, login: str | None
) -> StateTableRefused:
    """One sentence: what the state table's connection refused (``create``, ``read`` or ``write``), why, and
    the grant that fixes a refusal for rights (naming ``login``), or where else to put the table."""
    reason = first_line(exc)
    problem = f"cannot {action} the sync state table {table} in connection {conn_id!r} ({reason})"
    if not lacks_rights(exc):
        return StateTableRefused(problem, ELSEWHERE.removeprefix("or "))
    user = login or "<user>"
    if action == "create":
        schema = table.split(".")[0] if "." in table else schema_in(reason)
        grant = f"GRANT CREATE ON SCHEMA {schema} TO {user}" if schema else f"let {user} create tables there"
    else:
        grant = f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {user}"
    return StateTableRefused(problem, f"{grant}, {ELSEWHERE}")


def schema_in(reason: str) -> str | None:
    """The schema a refusal names (PostgreSQL: ``permission denied for schema public``)."""
    found = re.search(r'for schema "?([A-Za-z_][A-Za-z0-9_]*)"?', reason)
    return found.group(1) if found else None
