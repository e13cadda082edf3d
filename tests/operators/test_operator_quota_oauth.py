"""HubSpotBatchOperator on an OAuth app connection, whose answers carry no daily quota headers: the
connection's ``daily_limit`` minus the requests the usage table recorded for the portal's day is what
remains. The sandbox counts the same requests HubSpot would, so its day tells what the table should hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import TaskDeferred

from hubspot_commerce.batch.quota import portal_day
from hubspot_commerce.batch.usage import RequestUsage
from hubspot_commerce.client.crm_properties import key_property_definition
from hubspot_commerce.errors import HubSpotQuotaShort
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators.batch import HubSpotBatchOperator
from hubspot_sandbox.process import SandboxProcess
from hubspot_sandbox.schema import PORTAL_ID

CONN_ID, USAGE_CONN_ID = "hubspot_oauth_quota", "usage_db"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "commerce-app", "app-secret-0123", "refresh-token-4567"
ZONE = "Pacific/Kiritimati"  # UTC+14: the portal's date is not UTC's for most of the day
DAILY_LIMIT = 20  # configured on the connection and in the sandbox; 10% (2) is the reserve
KEY = "src_key"


@pytest.fixture(scope="module")
def oauth_sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess(
        oauth_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}:{REFRESH_TOKEN}"], time_zone=ZONE
    ) as sandbox:
        yield sandbox


@pytest.fixture
def short_oauth_day(oauth_sandbox, tmp_path, monkeypatch: pytest.MonkeyPatch) -> SandboxProcess:
    """An OAuth connection with ``daily_limit`` 20, an empty usage table, the orders key property; then a
    sandbox day of 20 requests starts."""
    app = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN}
    connection = {
        "conn_type": "hubspot",
        "host": oauth_sandbox.url,
        "extra": {**app, "daily_limit": DAILY_LIMIT},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    usage = {"conn_type": "sqlite", "host": str(tmp_path / "usage.sqlite")}
    monkeypatch.setenv(f"AIRFLOW_CONN_{USAGE_CONN_ID.upper()}", json.dumps(usage))
    oauth_sandbox.reset()
    HubSpotHook(hubspot_conn_id=CONN_ID).ensure_properties("orders", [key_property_definition(KEY)])
    oauth_sandbox.set_limits(daily_limit=DAILY_LIMIT)
    return oauth_sandbox


def _orders(keys: range, tmp_path, task_id: str = "create_orders", **kwargs) -> HubSpotBatchOperator:
    return HubSpotBatchOperator(
        task_id=task_id,
        object_type="orders",
        action="create",
        inputs=[{"key": f"o-{i}", "properties": {"hs_order_name": f"Order {i}"}} for i in keys],
        key_property=KEY,
        hubspot_conn_id=CONN_ID,
        usage_conn_id=USAGE_CONN_ID,
        output_dir=str(tmp_path),
        **kwargs,
    )


def _usage() -> RequestUsage:
    return RequestUsage(lambda: BaseHook.get_connection(USAGE_CONN_ID).get_hook())


def _today() -> str:
    return portal_day(datetime.now(UTC), ZONE)


def _created(sandbox: SandboxProcess) -> set[str]:
    return {record["properties"][KEY] for record in sandbox.dump("orders")}


def test_an_oauth_write_longer_than_the_configured_day_writes_what_fits_and_defers(short_oauth_day, tmp_path):
    """The account details request counts (1 used: 19 remain, 2 reserved, 17 available): 17 batches go,
    the task defers, and the usage table holds every request the sandbox counted, on the portal's date.
    A second task the same day sees them: 1 remains, below the reserve, so it writes nothing."""
    store: dict = {}
    context = {"task_state_store": _Store(store)}
    with pytest.raises(TaskDeferred):
        _orders(range(2500), tmp_path).execute(context=context)

    assert _created(short_oauth_day) == {f"o-{i}" for i in range(1700)}
    assert short_oauth_day.day()["daily_used"] == 18, "the details request and 17 batch creates"
    assert _usage().used(str(PORTAL_ID), _today()) == 18

    later = _orders(range(2500, 2600), tmp_path, task_id="create_more", on_quota_short="partial")
    result = later.execute(context={})
    assert (result["created"], result["not_attempted"]) == (0, 100)
    assert result["quota"] == {
        "needed": 1, "limit": DAILY_LIMIT, "remaining": 1, "reserve": 2, "available": 0,
        "on_short": "partial", "resets_at": result["quota"]["resets_at"], "portal": str(PORTAL_ID),
        "time_zone": ZONE,
    }  # fmt: skip
    assert _usage().used(str(PORTAL_ID), _today()) == short_oauth_day.day()["daily_used"] == 19


def test_fail_counts_the_requests_other_tasks_recorded_and_writes_nothing(short_oauth_day, tmp_path):
    """Ten requests recorded earlier today (another task): 20 - 11 = 9 remain, 7 above the reserve."""
    earlier = _usage()
    earlier.count(10)
    earlier.record(str(PORTAL_ID), _today())

    with pytest.raises(HubSpotQuotaShort) as caught:
        _orders(range(2500), tmp_path, on_quota_short="fail").execute(context={})

    numbers = "needs 25 requests; 9 of 20 remain today, 2 reserved for other integrations, so 7 available"
    assert numbers in str(caught.value)
    assert _created(short_oauth_day) == set()
    assert _usage().used(str(PORTAL_ID), _today()) == 11, "the details request is recorded too"


class _Store:
    """Stands in for Airflow 3.3's ``context["task_state_store"]``."""

    def __init__(self, values: dict) -> None:
        self.values = values

    def get(self, key, default=None):
        return self.values.get(key, default)

    def set(self, key, value, *, retention=None):
        self.values[key] = json.loads(json.dumps(value))
