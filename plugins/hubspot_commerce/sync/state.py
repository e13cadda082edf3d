"""The sync state table: per stream and source key, the HubSpot id, a hash of what was last written, the
last outcome and when, kept in the user's database through a common-sql hook.

Planning reads it instead of HubSpot (an unchanged row costs no request, a changed one is updated by its
known id), and analysts join ``hubspot_id`` back onto their own tables. Writes are batched
(``insert_rows`` with ``executemany``), one statement per thousand rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from functools import cached_property
from typing import Any, Protocol

import pandas as pd

from hubspot_commerce.errors import SyncConfigurationError
from hubspot_commerce.sync.id_index import IdIndex

DEFAULT_TABLE = "hubspot_sync_state"
COLUMNS = ("stream", "source_key", "hubspot_id", "row_hash", "outcome", "reason", "synced_at")
READ_CHUNK = 500  # keys per SELECT ... IN (...): below every database's parameter limit
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


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
    """The state table in one SQL connection (created if missing), connected on first use: a run whose
    connection is missing still reports."""

    def __init__(self, connect: Callable[[], SqlHook], table: str = DEFAULT_TABLE) -> None:
        if not IDENTIFIER.fullmatch(table):
            raise SyncConfigurationError(f"state table {table!r} is not a plain SQL name (schema.table)")
        self.connect, self.table = connect, table

    @cached_property
    def hook(self) -> SqlHook:
        hook = self.connect()
        if hasattr(hook, "log_sql"):
            hook.log_sql = False  # a statement per 500 keys would flood the task log with keys
        return hook

    def ensure_table(self) -> None:
        """Create the table and its key if they do not exist (portable SQL: SQLite, PostgreSQL, MySQL...)."""
        self.hook.run(
            f"CREATE TABLE IF NOT EXISTS {self.table} (stream VARCHAR(200) NOT NULL, "
            "source_key VARCHAR(500) NOT NULL, hubspot_id VARCHAR(40), row_hash VARCHAR(64), "
            "outcome VARCHAR(20) NOT NULL, reason TEXT, synced_at VARCHAR(40) NOT NULL, "
            "PRIMARY KEY (stream, source_key))",
            autocommit=True,
        )

    def load(self, stream: str, keys: Sequence[str]) -> dict[str, Known]:
        """The state of the given keys of one stream, read in chunks; keys never recorded are absent."""
        known: dict[str, Known] = {}
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
