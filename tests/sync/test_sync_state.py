"""Where the sync state lives and what its connection must allow: refusals for rights become one sentence
naming the grant (decided from the driver's error, tested without a server, then on a real PostgreSQL with a
read-only role); a dry run reads a table not created yet as empty and creates nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hubspot_commerce.errors import StateTableRefused, SyncConfigurationError
from hubspot_commerce.sync.extract import sql_source
from hubspot_commerce.sync.state import SyncState, is_missing_table, lacks_rights, state_refusal
from hubspot_commerce.sync.sync_config import configured_state

ELSEWHERE = "or set [hubspot_commerce] state_conn_id / state_table to a place it can write"


class DriverError(Exception):
    """A DB-API error as drivers raise them: a message, maybe an error number, maybe a SQLSTATE."""

    def __init__(self, *args: Any, sqlstate: str | None = None) -> None:
        super().__init__(*args)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "error",
    [
        DriverError("permission denied for schema public", sqlstate="42501"),  # PostgreSQL (psycopg)
        DriverError("cannot execute CREATE TABLE in a read-only transaction", sqlstate="25006"),
        DriverError(1142, "CREATE command denied to user 'reader'@'%' for table 'hubspot_sync_state'"),
        DriverError("attempt to write a readonly database"),  # SQLite
        DriverError("SQL access control error: Insufficient privileges to operate on schema 'PUBLIC'"),
    ],
)
def test_a_refusal_for_rights_is_recognised_by_sqlstate_error_number_or_wording(error: Exception) -> None:
    assert lacks_rights(error) and not is_missing_table(error)


@pytest.mark.parametrize(
    "error",
    [
        DriverError('relation "hubspot_sync_state" does not exist', sqlstate="42P01"),
        DriverError(1146, "Table 'shop.hubspot_sync_state' doesn't exist"),
        DriverError("no such table: hubspot_sync_state"),
    ],
)
def test_a_missing_table_is_recognised_and_is_no_refusal(error: Exception) -> None:
    assert is_missing_table(error) and not lacks_rights(error)


def test_an_outage_is_neither_and_is_retried() -> None:
    outage = DriverError("connection to server at 10.0.0.5, port 5432 failed: Connection refused")
    assert not lacks_rights(outage) and not is_missing_table(outage)


def test_the_advice_names_connection_table_reason_and_the_grant() -> None:
    denied = DriverError("permission denied for schema public\nHINT: ...", sqlstate="42501")
    create = state_refusal("create", "hubspot_sync_state", "commerce_source", denied, "reader")
    assert str(create) == (
        "cannot create the sync state table hubspot_sync_state in connection 'commerce_source' (permission "
        f"denied for schema public): GRANT CREATE ON SCHEMA public TO reader, {ELSEWHERE}"
    )
    assert isinstance(create, SyncConfigurationError), "not retried (HUBSPOT_RETRY_POLICY)"
    in_schema = state_refusal("create", "sync.state", "dwh", DriverError("Insufficient privileges"), None)
    assert in_schema.fix == f"GRANT CREATE ON SCHEMA sync TO <user>, {ELSEWHERE}"
    read_only = DriverError("attempt to write a readonly database")
    assert (
        state_refusal("create", "t", "shop", read_only, None).fix
        == f"let <user> create tables there, {ELSEWHERE}"
    )
    write = state_refusal(
        "write", "sync.state", "dwh", DriverError("permission denied for table state"), "reader"
    )
    assert write.problem == (
        "cannot write the sync state table sync.state in connection 'dwh' (permission denied for table state)"
    )
    assert write.fix == f"GRANT SELECT, INSERT, UPDATE, DELETE ON sync.state TO reader, {ELSEWHERE}"
    no_schema = DriverError('schema "sync" does not exist', sqlstate="3F000")
    assert str(state_refusal("create", "sync.state", "dwh", no_schema, "reader")) == (
        "cannot create the sync state table sync.state in connection 'dwh' (schema \"sync\" does not exist): "
        "set [hubspot_commerce] state_conn_id / state_table to a place it can write"
    )


def test_the_settings_place_the_state_and_arguments_win(monkeypatch: pytest.MonkeyPatch) -> None:
    assert configured_state() == (None, "hubspot_sync_state"), "the source connection, the default table"
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__STATE_CONN_ID", "warehouse_rw")
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__STATE_TABLE", "hubspot.sync_state")
    assert configured_state() == ("warehouse_rw", "hubspot.sync_state")
    assert configured_state("other", "t") == ("other", "t")
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__STATE_TABLE", "sync state; DROP TABLE x")
    with pytest.raises(SyncConfigurationError, match="is not a plain SQL name"):
        configured_state()


def sqlite_state(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> SyncState:
    monkeypatch.setenv("AIRFLOW_CONN_STATE_DB", f'{{"conn_type": "sqlite", "host": "{path}"}}')
    return SyncState(lambda: sql_source("state_db"), conn_id="state_db", **kwargs)


def tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]


def test_a_dry_run_reads_a_missing_table_as_empty_and_creates_nothing(tmp_path, monkeypatch) -> None:
    path = tmp_path / "state.sqlite"
    assert sqlite_state(path, monkeypatch, missing_ok=True).load("orders", ["1", "2"]) == {}
    assert tables(path) == []
    with pytest.raises(Exception, match="no such table: hubspot_sync_state"):
        sqlite_state(path, monkeypatch).load("orders", ["1"])


def test_ensure_table_creates_it_and_leaves_no_probe_row(tmp_path, monkeypatch) -> None:
    path = tmp_path / "state.sqlite"
    assert sqlite_state(path, monkeypatch).ensure_table() is False, "it did not exist"
    assert sqlite_state(path, monkeypatch).ensure_table() is True
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM hubspot_sync_state").fetchone() == (0,)


@pytest.fixture
def pg_state(pg_warehouse, monkeypatch: pytest.MonkeyPatch):
    """``state(user, table, database)``: a SyncState in connection ``warehouse`` as that role."""

    def state(user: str, table: str = "hubspot_sync_state", database: str = "shop") -> SyncState:
        monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", pg_warehouse.url(user, database))
        return SyncState(lambda: sql_source("warehouse"), table, conn_id="warehouse")

    return state


def test_a_read_only_role_is_told_the_grant_and_nothing_is_created(pg_warehouse, pg_state) -> None:
    with pytest.raises(StateTableRefused) as refused:
        pg_state("reader").ensure_table()
    assert str(refused.value) == (
        "cannot create the sync state table hubspot_sync_state in connection 'warehouse' (permission denied "
        f"for schema public): GRANT CREATE ON SCHEMA public TO reader, {ELSEWHERE}"
    )
    assert pg_warehouse.execute("SELECT to_regclass('public.hubspot_sync_state')", "shop") == [(None,)]


def test_a_table_the_role_may_only_read_is_told_the_grant(pg_warehouse, pg_state) -> None:
    pg_warehouse.execute("CREATE SCHEMA readonly_state", "shop")
    pg_warehouse.execute("GRANT USAGE ON SCHEMA readonly_state TO reader", "shop")
    pg_warehouse.execute(SyncState(lambda: None, "readonly_state.sync").create_sql(), "shop")
    pg_warehouse.execute("GRANT SELECT ON readonly_state.sync TO reader", "shop")
    with pytest.raises(StateTableRefused) as refused:
        pg_state("reader", "readonly_state.sync").ensure_table()
    assert refused.value.problem == (
        "cannot write the sync state table readonly_state.sync in connection 'warehouse' (permission denied "
        "for table sync)"
    )
    assert (
        refused.value.fix
        == f"GRANT SELECT, INSERT, UPDATE, DELETE ON readonly_state.sync TO reader, {ELSEWHERE}"
    )


def test_a_writable_schema_beside_read_only_tables_takes_the_state(pg_warehouse, pg_state) -> None:
    """The README's first grant: the source stays read-only, one schema is the sync's."""
    pg_warehouse.execute("CREATE SCHEMA hubspot", "shop")
    pg_warehouse.execute("GRANT USAGE, CREATE ON SCHEMA hubspot TO reader", "shop")
    assert pg_state("reader", "hubspot.hubspot_sync_state").ensure_table() is False
    assert pg_warehouse.execute("SELECT COUNT(*) FROM hubspot.hubspot_sync_state", "shop") == [(0,)]


def test_the_check_leaves_no_table_behind_on_postgresql(pg_warehouse, pg_state) -> None:
    database = pg_warehouse.writable_database()
    assert pg_state("airflow", database=database).ensure_table(keep=False) is False
    assert pg_warehouse.execute("SELECT to_regclass('hubspot_sync_state')", database) == [(None,)]
