"""``hubspot-commerce check``: the deployment's pre-flight, against the sandbox, a SQLite or PostgreSQL store
and Airflow's metadata database. Each test asserts the printed lines, in order, and the count."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hubspot_commerce.check import Check, check_pool, main, recommended_pool_slots, summary
from hubspot_commerce.sync.resources import include_path
from hubspot_commerce_lab.sample_store import StoreSize, generate_store
from hubspot_sandbox.process import SandboxProcess

pytestmark = pytest.mark.usefixtures("airflow_db")
SQL = include_path("sql")
ELSEWHERE = "or set [hubspot_commerce] state_conn_id / state_table to a place it can write"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "shop.sqlite"
    generate_store(path, StoreSize(products=5, customers=5, orders=5, carts=2))
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def _check(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, list[str]]:
    """The exit status and the checklist's lines (log lines of the hooks left out)."""
    status = main(["check", *args])
    lines = capsys.readouterr().out.splitlines()
    return status, [line for line in lines if line.startswith(("[", "         fix:")) or " checks" in line]


@pytest.mark.parametrize(
    ("limit", "slots"), [pytest.param(190, 3, id="professional"), pytest.param(100, 2, id="starter")]
)
def test_the_pool_size_follows_the_burst_limit(limit: int, slots: int) -> None:
    assert recommended_pool_slots(limit) == slots
    assert check_pool("hubspot_api", slots, limit).status == "ok"
    too_many = check_pool("hubspot_api", slots + 5, limit)
    assert too_many.status == "warn" and f"airflow pools set hubspot_api {slots}" in too_many.fix
    missing = check_pool("hubspot_api", None, limit)
    assert missing == Check(
        "FAIL", "pool 'hubspot_api' does not exist", 'airflow pools set hubspot_api 3 "HubSpot API"'
    )


def test_the_readme_pool_is_the_checks_advice() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert 'airflow pools set hubspot_api 3 "HubSpot API"' in readme
    assert "airflow pools set hubspot_api 4" not in readme


def test_every_check_is_counted_by_its_status() -> None:
    checks = [Check(s, "x") for s in ("ok", "ok", "warn", "ok", "skip", "FAIL", "skip", "ok")]
    assert summary(checks) == "4 passed, 1 warning, 2 skipped, 1 failed of 8 checks"
    assert summary([Check("ok", "x"), Check("warn", "y"), Check("warn", "z")]) == (
        "1 passed, 2 warnings of 3 checks"
    )


def test_the_help_lists_every_command_in_plain_text(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert top.startswith("usage: hubspot-commerce [-h] <command> ...")
    assert "    check     check a deployment before its first run" in top
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    check = capsys.readouterr().out
    assert "--sql-dir SQL_DIR" in check and "[hubspot_commerce] sql_dir" in check
    assert "``" not in top + check


def test_a_ready_deployment_passes_every_check(shop, hubspot_conn, sandbox, capsys) -> None:
    status, lines = _check(capsys)
    assert status == 0, lines
    assert lines == [
        f"[  ok] mapping with 7 streams and their SQL files in {SQL}",
        "[  ok] source connection 'commerce_source' answers",
        "[  ok] the 7 streams' queries run on 'commerce_source' (no row fetched)",
        "[  ok] sync state table hubspot_sync_state in 'commerce_source' can be created and written (the "
        "first run does)",
        f"[  ok] HubSpot connection 'hubspot_default' ({sandbox.url}) works",
        "[  ok] the token has every scope a full run needs (25 granted)",
        "[  ok] every mapped property exists in the portal, is writable, has its options",
        "[  ok] pool 'hubspot_api' has 3 slots for 1000000 requests per 10 s",
        "8 passed of 8 checks",
    ]


def test_what_is_missing_is_named_once_with_its_fix(shop, monkeypatch, capsys) -> None:
    """A narrow token, a pool that does not exist, a source connection nobody defined: the checks that need
    the source are skipped, and so is the property check the missing scopes would fail again."""
    monkeypatch.delenv("AIRFLOW_CONN_COMMERCE_SOURCE")
    granted = "crm.objects.products.read,crm.objects.products.write"
    with SandboxProcess(tokens=[f"narrow-token:{granted}"], rate_limit=190) as narrow:
        monkeypatch.setenv(
            "AIRFLOW_CONN_HUBSPOT_DEFAULT",
            json.dumps({"conn_type": "hubspot", "host": narrow.url, "password": "narrow-token"}),
        )
        status, lines = _check(capsys, "--pool", "no_such_pool")
    assert status == 1
    lacks = lines[6]
    assert lacks.startswith("[FAIL] the token lacks 14 scopes: records crm.objects.carts.read, ")
    assert "; schemas crm.schemas." in lacks and lacks.count("crm.objects.carts.read") == 1
    assert "crm.schemas.orders.write" in lacks and "crm.objects.products.write" not in lacks
    assert lines[:6] + lines[7:] == [
        f"[  ok] mapping with 7 streams and their SQL files in {SQL}",
        "[FAIL] source connection 'commerce_source': AirflowNotFoundException: The conn_id `commerce_source` "
        "isn't defined",
        "         fix: a SQL connection the workers reach (AIRFLOW_CONN_* or a secrets backend)",
        "[skip] queries: the source connection does not answer",
        "[skip] sync state table: the source connection does not answer",
        f"[  ok] HubSpot connection 'hubspot_default' ({narrow.url}) works",
        "         fix: add them to the app in HubSpot",
        "[skip] mapped properties: not checked until the token has the scopes above",
        "[FAIL] pool 'no_such_pool' does not exist",
        '         fix: airflow pools set no_such_pool 3 "HubSpot API"',
        "2 passed, 3 skipped, 3 failed of 8 checks",
    ]


def test_the_check_reads_the_dags_settings_and_runs_each_query(shop, tmp_path, monkeypatch, capsys) -> None:
    """The user's SQL folder (``[hubspot_commerce] sql_dir``) with a misspelt column, the state in another
    connection (``state_conn_id``), HubSpot unreachable: each finding once, the checks HubSpot would answer
    skipped, and the reads that got no answer not said to be half-done."""
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL, sql_dir)
    (sql_dir / "orders.sql").write_text((sql_dir / "orders.sql").read_text().replace("tax,", "taxes,"))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__SQL_DIR", str(sql_dir))
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__STATE_CONN_ID", "sync_state")
    monkeypatch.setenv("AIRFLOW__HUBSPOT_COMMERCE__STATE_TABLE", "sync_state_rows")
    state_db = tmp_path / "state.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STATE", json.dumps({"conn_type": "sqlite", "host": str(state_db)}))
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_DEFAULT",
        json.dumps({"conn_type": "hubspot", "host": closed, "password": "never-sent-token"}),
    )
    status, lines = _check(capsys)
    assert status == 1
    assert lines[5].startswith(
        f"[FAIL] HubSpot connection 'hubspot_default' ({closed}): GET crm/properties/2026-09/products: no "
        "answer from HubSpot (NewConnectionError: "
    )
    assert lines[5].endswith("Connection refused)"), "a read is not said to be maybe processed"
    assert lines[:5] + lines[6:] == [
        f"[  ok] mapping with 7 streams and their SQL files in {sql_dir}",
        "[  ok] source connection 'commerce_source' answers",
        f"[FAIL] stream orders: the source refused {sql_dir}/orders.sql: no such column: taxes",
        "         fix: fix the query, or the table or view it reads",
        "[  ok] sync state table sync_state_rows in 'sync_state' can be created and written (the first run "
        "does)",
        "         fix: the connection's host (the API base URL), and the network from here to it",
        "[skip] scopes: HubSpot unreachable",
        "[skip] mapped properties: HubSpot unreachable",
        "[  ok] pool 'hubspot_api' has 3 slots (HubSpot's burst limit not known)",
        "4 passed, 2 skipped, 2 failed of 8 checks",
    ]


def test_a_read_only_postgresql_role_runs_the_queries_and_is_told_the_grant(
    pg_warehouse, hubspot_conn, sandbox, monkeypatch, capsys
) -> None:
    """The sample store in PostgreSQL, read by a role with SELECT only: every query runs there, and the
    state table is refused naming the grant; a writable state connection is checked and left as it was."""
    monkeypatch.setenv("AIRFLOW_CONN_COMMERCE_SOURCE", pg_warehouse.url("reader"))
    status, lines = _check(capsys)
    assert status == 1
    assert lines[2:5] == [
        "[  ok] the 7 streams' queries run on 'commerce_source' (no row fetched)",
        "[FAIL] cannot create the sync state table hubspot_sync_state in connection 'commerce_source' "
        "(permission denied for schema public)",
        f"         fix: GRANT CREATE ON SCHEMA public TO reader, {ELSEWHERE}",
    ]
    assert lines[-1] == "7 passed, 1 failed of 8 checks"
    database = pg_warehouse.writable_database()
    monkeypatch.setenv("AIRFLOW_CONN_SYNC_STATE", pg_warehouse.url("airflow", database))
    status, lines = _check(capsys, "--state-conn-id", "sync_state")
    assert status == 0 and lines[3] == (
        "[  ok] sync state table hubspot_sync_state in 'sync_state' can be created and written (the first "
        "run does)"
    )
    assert pg_warehouse.execute("SELECT to_regclass('hubspot_sync_state')", database) == [(None,)]


def test_a_missing_sql_file_is_named(tmp_path, capsys) -> None:
    status, lines = _check(capsys, "--sql-dir", str(tmp_path))
    assert status == 1
    assert (
        lines[0].startswith("[FAIL] mapping: ")
        and f"SQL file {tmp_path}/products.sql does not exist" in lines[0]
    )
    assert "[skip] queries: the mapping did not load" in lines
