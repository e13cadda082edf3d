"""The DAG end to end against a day too short for the run: the write tasks write what fits, defer until the
portal's daily reset, resume, and HubSpot ends exactly like the store, with no duplicate.

``dag.test()`` runs a deferred task's trigger in line (Airflow 3.3: "[DAG TEST] running trigger in line"),
so the real DateTimeTrigger waits here. The portal's midnight is hours away, so the test gives the portal a
day that ends two seconds after a write finds the quota short: it wraps the hook's ``plan_quota`` to move the
sandbox's reset (its control call) and to return that moment as the reset. Everything else is the real run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hubspot_commerce.batch import quota
from hubspot_commerce.contract import RunStorage
from hubspot_commerce.storage import default_work_dir
from hubspot_commerce_lab.distributed.graph_check import check_graph
from hubspot_commerce_lab.distributed.hubspot_reader import HubSpotReader
from hubspot_sandbox.process import SandboxProcess

pytestmark = [pytest.mark.usefixtures("airflow_db", "hubspot_conn"), pytest.mark.timeout(300)]

DAILY_LIMIT = 30  # a SMALL store's full run takes more than one day of it above the reserve
RESERVE = 0.3  # 9 requests: more than any task reads between two writes
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "commerce-app", "client-secret-quota", "refresh-token-quota"


@pytest.fixture
def short_days(sandbox, monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """A portal whose day ends two seconds after a write finds the quota short; the resets it was given."""
    return _shorten_days(sandbox, monkeypatch)


@pytest.fixture
def oauth_short_days(hubspot_conn, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxProcess]:
    """The same short days on an OAuth app connection, whose answers carry no daily headers: its
    ``daily_limit`` minus the requests the usage table holds for the portal's day is what remains. The
    usage table keys requests by the portal's date, which the sandbox's early resets do not change: here
    a day is named by the number of resets that have passed."""
    with SandboxProcess(oauth_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}:{REFRESH_TOKEN}"]) as sandbox:
        app = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
        extra = {**app, "daily_limit": DAILY_LIMIT}
        connection = {"conn_type": "hubspot", "host": sandbox.url, "extra": extra}
        monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
        resets = _shorten_days(sandbox, monkeypatch)

        def sandbox_day(now: datetime, time_zone: str | None) -> str:
            return f"day-{sum(1 for reset in resets if reset <= now)}"

        monkeypatch.setattr("hubspot_commerce.client.daily_quota.portal_day", sandbox_day)
        yield sandbox


def _shorten_days(sandbox: SandboxProcess, monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Make the sandbox's day end two seconds after a write finds the quota short; the resets given. The
    run's own plan (the first one short) moves nothing: the day must still be short when the writes start,
    however long the tasks between take."""
    resets: list[datetime] = []
    short_plans: list[int] = []

    def plan_with_a_near_midnight(needed: int, limit: Any, remaining: Any, rule: Any, resets_at: datetime):
        plan = quota.plan_quota(needed, limit, remaining, rule, resets_at)
        if not plan.short:
            return plan
        short_plans.append(needed)
        if len(short_plans) == 1:
            return plan
        resets[:] = [reset for reset in resets if reset <= datetime.now(UTC)]  # a pending one is replaced
        resets.append(datetime.fromisoformat(sandbox.reset_daily_at(in_seconds=2)["resets_at"]))
        return quota.QuotaPlan(plan.needed, limit, remaining, plan.reserve, rule.on_short, resets[-1])

    monkeypatch.setattr("hubspot_commerce.client.daily_quota.plan_quota", plan_with_a_near_midnight)
    monkeypatch.setattr("hubspot_commerce.operators.batch.RESET_MARGIN", timedelta(seconds=0.2))
    sandbox.set_limits(daily_limit=DAILY_LIMIT)
    return resets


def test_a_run_longer_than_the_day_defers_resumes_after_the_reset_and_lands_everything_once(
    sync_dag, store: Path, sandbox, short_days: list[datetime]
) -> None:
    conf = {**sync_dag.params.dump(), "full_refresh": True, "quota_reserve": RESERVE}
    dag_run = sync_dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    assert short_days, "at least one write found the day short and waited for the reset"

    files = RunStorage.for_run(default_work_dir(), sync_dag.dag_id, dag_run.run_id)
    report = files.report.read_text()
    assert "daily quota: the run's plans need" in report
    # setup only reads (8 requests): 22 of 30 remain for the plan, which counts the key property's 8 too
    assert "remaining 22 of 30, reserve 9, so 13 available: each write checked again" in report, "short"
    waited = [line for line in report.splitlines() if "waited for the reset until" in line]
    assert len(waited) >= 1 and all("remaining" in line and "reserve 9" in line for line in waited)
    assert "INCOMPLETE" not in report and "not attempted" not in report

    sandbox.next_day()
    sandbox.set_limits(daily_limit=1_000_000)  # the check below reads through HubSpot's API too
    result = check_graph(HubSpotReader(sandbox.url, sandbox.token), store, None)
    assert result.ok, result.describe()  # every record once, with exact values and links
    orders = [o["properties"]["airflow_source_key"] for o in sandbox.dump("orders")]
    assert len(orders) == len(set(orders)) == result.checked["orders"]
    create_orders = json.loads(json.dumps(_xcom(dag_run, "create_orders")))
    assert create_orders["created"] + create_orders["resumed"] == len(orders)


def test_an_oauth_run_longer_than_the_day_counts_its_requests_defers_and_resumes(
    sync_dag, store: Path, oauth_short_days: SandboxProcess
) -> None:
    """With no daily headers, the usage table is the day's count: the run's plan finds the day short, the
    writes wait for the reset and resume, every request of every task and day is in the table, and HubSpot
    ends like the store."""
    sandbox = oauth_short_days
    conf = {**sync_dag.params.dump(), "full_refresh": True, "quota_reserve": RESERVE}
    dag_run = sync_dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states

    report = RunStorage.for_run(default_work_dir(), sync_dag.dag_id, dag_run.run_id).report.read_text()
    assert "available: each write checked again" in report, "the run's plan found the day short"
    assert any("waited for the reset until" in line for line in report.splitlines())
    with sqlite3.connect(store) as db:
        recorded = dict(db.execute("SELECT day, requests FROM hubspot_request_usage").fetchall())
    api = {path: n for path, n in sandbox.stats()["by_path"].items() if "/oauth/" not in path}
    assert len(recorded) >= 2 and sum(recorded.values()) == sum(api.values()), (recorded, api)

    sandbox.next_day()
    sandbox.set_limits(daily_limit=1_000_000)
    result = check_graph(HubSpotReader(sandbox.url, sandbox.token), store, None)
    assert result.ok, result.describe()


def _xcom(dag_run: Any, task_id: str) -> Any:
    """A task's return value in the run."""
    ti = next(ti for ti in dag_run.get_task_instances() if ti.task_id == task_id)
    return ti.xcom_pull(task_ids=task_id)


def test_fail_stops_the_run_before_its_first_write_and_names_the_numbers(
    sync_dag, store: Path, sandbox
) -> None:
    """With ``fail``, the run's plan (made once, before any write task) finds the day short: plan_quota fails,
    no write task runs, HubSpot holds no record nor the key property, and the report gives the numbers."""
    sandbox.set_limits(daily_limit=DAILY_LIMIT)
    conf = {**sync_dag.params.dump(), "full_refresh": True, "quota_reserve": RESERVE}
    conf["on_quota_short"] = "fail"
    dag_run = sync_dag.test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "failed" and states["plan_quota"] == "failed", states
    writers = [task for task in states if task.startswith(("create_", "update_", "upsert_"))]
    assert writers and all(states[task] == "upstream_failed" for task in writers), states
    for object_type in ("products", "contacts", "orders", "line_items", "commerce_payments", "carts"):
        assert sandbox.dump(object_type) == [], object_type
    paths = sandbox.stats()["by_path"]
    assert not [path for path in paths if path.startswith("POST /crm/properties/")], "nor the key property"

    report = RunStorage.for_run(default_work_dir(), sync_dag.dag_id, dag_run.run_id).report.read_text()
    # 17: 9 for the writes, 8 to create the key property on four object types (after the plan, since setup
    # only reads: 22 of the day's 30 remain when the plan is made)
    plan = "before the first write: about 17 requests; remaining 22 of 30, reserve 9, so 13 available"
    assert plan in report
    assert "plan_quota" in report  # among the failed tasks, with what to clear
