"""The usage table: requests counted in memory, added per portal day, and concurrent recorders adding up."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from airflow.sdk import BaseHook

from hubspot_commerce.batch.usage import RequestUsage
from hubspot_commerce.errors import HubSpotConfigurationError


@pytest.fixture
def usage_conn(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite connection in a file of its own."""
    path = tmp_path / "usage.sqlite"
    monkeypatch.setenv("AIRFLOW_CONN_USAGE_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return "usage_db"


def _usage(conn_id: str) -> RequestUsage:
    return RequestUsage(lambda: BaseHook.get_connection(conn_id).get_hook())


def test_counted_requests_are_added_to_the_portal_day_once(usage_conn):
    usage = _usage(usage_conn)
    assert usage.used("42", "2026-12-04") == 0, "a day never recorded"
    for _ in range(7):
        usage.count()
    assert usage.record("42", "2026-12-04") == 7 and usage.unrecorded == 0
    assert usage.record("42", "2026-12-04") == 0, "nothing new: nothing added"
    usage.count(3)
    usage.record("42", "2026-12-04")
    usage.count(5)
    usage.record("42", "2026-12-05")
    usage.count(2)
    usage.record("99", "2026-12-04")
    assert usage.used("42", "2026-12-04") == 10
    assert (usage.used("42", "2026-12-05"), usage.used("99", "2026-12-04")) == (5, 2)


def test_recorders_of_several_tasks_add_up(usage_conn):
    """Eight recorders (as eight tasks would), each adding 25 times at once: no increment is lost, and
    the day's row is created once whoever inserts it first."""

    def task(_: int) -> None:
        usage = _usage(usage_conn)
        for _ in range(25):
            usage.count(2)
            usage.record("42", "2026-12-04")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(task, range(8)))
    assert _usage(usage_conn).used("42", "2026-12-04") == 8 * 25 * 2


def test_a_failed_record_keeps_the_requests_for_the_next_try(usage_conn):
    usage = _usage(usage_conn)
    usage.count(4)
    usage.table = "missing_schema.hubspot_request_usage"  # the statement fails
    with pytest.raises(Exception, match="missing_schema"):
        usage.record("42", "2026-12-04")
    assert usage.unrecorded == 4
    usage.table = "hubspot_request_usage"
    usage.record("42", "2026-12-04")
    assert usage.used("42", "2026-12-04") == 4


def test_a_table_name_that_is_not_plain_sql_is_refused():
    with pytest.raises(HubSpotConfigurationError, match="not a plain SQL name"):
        RequestUsage(lambda: None, table="usage; DROP TABLE x")  # type: ignore[arg-type,return-value]
