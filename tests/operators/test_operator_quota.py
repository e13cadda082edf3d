"""HubSpotBatchOperator against the sandbox's daily quota: defer and resume after the reset, fail, partial,
and a 429 DAILY that arrives anyway.

The deferral is resumed by calling the operator's ``resume_after_reset`` directly, after moving the
sandbox's day forward with its control call: that is what the triggerer does when the DateTimeTrigger
fires (checked here: the trigger is Airflow's own, for the sandbox's reset moment). The DAG end to end
test runs the deferral through ``dag.test()``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from airflow.providers.standard.triggers.temporal import DateTimeTrigger
from airflow.sdk.exceptions import TaskDeferred
from task_state_store import FakeTaskStateStore

from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.client.crm_properties import key_property_definition
from hubspot_commerce.errors import HubSpotQuotaShort
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_commerce.operators.batch import HubSpotBatchOperator
from hubspot_sandbox.schema import PORTAL_ID

KEY = "src_key"
ORDERS_CREATE = f"POST /{ApiPaths().batch('orders', 'create')}"
DAILY_LIMIT = 20  # the quota check takes 1 request: 19 remain, 2 reserved (10%), 17 batches fit


@pytest.fixture
def short_day(hubspot_conn, sandbox) -> str:
    """The orders key property exists; then a day of ``DAILY_LIMIT`` requests starts."""
    HubSpotHook(hubspot_conn_id=hubspot_conn).ensure_properties("orders", [key_property_definition(KEY)])
    sandbox.set_limits(daily_limit=DAILY_LIMIT)
    return hubspot_conn


def _inputs(n: int) -> list[dict]:
    return [{"key": f"o-{i}", "properties": {"hs_order_name": f"Order {i}"}} for i in range(n)]


def _orders(n: int, tmp_path, **kwargs) -> HubSpotBatchOperator:
    return HubSpotBatchOperator(
        task_id="create_orders",
        object_type="orders",
        action="create",
        inputs=_inputs(n),
        key_property=KEY,
        output_dir=str(tmp_path),
        **kwargs,
    )


def _state(sandbox) -> dict[str, str]:
    """HubSpot's orders by source key, record by record; a duplicate key fails the test."""
    dump = sandbox.dump("orders")
    keys = [r["properties"][KEY] for r in dump]
    assert len(keys) == len(set(keys)), "duplicates"
    for record in dump:
        assert record["properties"]["hs_order_name"] == f"Order {record['properties'][KEY].split('-')[1]}"
    return {r["properties"][KEY]: r["id"] for r in dump}


def _creates(sandbox) -> int:
    return sandbox.stats()["by_path"].get(ORDERS_CREATE, 0)


def test_a_write_longer_than_the_day_writes_what_fits_defers_and_resumes_after_the_reset(
    sandbox, short_day, tmp_path
):
    store = FakeTaskStateStore()
    context = {"task_state_store": store}
    op = _orders(2500, tmp_path)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context=context)

    reset = datetime.fromisoformat(sandbox.day()["resets_at"])
    trigger = deferred.value.trigger
    assert isinstance(trigger, DateTimeTrigger) and deferred.value.method_name == "resume_after_reset"
    assert trigger.moment == reset + timedelta(minutes=1), "the portal's midnight, and a minute"
    classpath, _ = trigger.serialize()
    assert classpath == "airflow.providers.standard.triggers.temporal.DateTimeTrigger"
    assert set(_state(sandbox)) == {f"o-{i}" for i in range(1700)}, "the first 17 batches, nothing more"
    assert sandbox.day()["daily_remaining"] == 2, "the reserve is left for the portal's other integrations"

    sandbox.next_day()  # what the trigger waits for
    result = op.resume_after_reset(context=context, event=None)

    state = _state(sandbox)
    assert set(state) == {f"o-{i}" for i in range(2500)} and result["ids"] == state
    assert (result["created"], result["resumed"], result["rejected"], result["not_attempted"]) == (
        800,
        1700,
        0,
        0,
    )
    assert _creates(sandbox) == 25, "no batch sent twice"
    assert result["deferred_until"] == [trigger.moment.isoformat()]
    assert result["quota"] == {
        "needed": 8, "limit": DAILY_LIMIT, "remaining": 19, "reserve": 2, "available": 17,
        "on_short": "defer", "resets_at": result["quota"]["resets_at"], "portal": str(PORTAL_ID),
        "time_zone": "UTC",
    }  # fmt: skip


def test_fail_writes_nothing_and_names_the_numbers(sandbox, short_day, tmp_path):
    op = _orders(2500, tmp_path, on_quota_short="fail")
    with pytest.raises(HubSpotQuotaShort) as caught:
        op.execute(context={})

    message = str(caught.value)
    assert "orders create of 2500 records not started" in message
    assert (
        "needs 25 requests; 19 of 20 remain today, 2 reserved for other integrations, so 17 available"
        in message
    )
    assert (caught.value.plan.needed, caught.value.plan.available) == (25, 17)
    assert _state(sandbox) == {} and _creates(sandbox) == 0


def test_partial_writes_what_fits_and_reports_the_rest_as_not_attempted(sandbox, short_day, tmp_path):
    result = _orders(2500, tmp_path, on_quota_short="partial").execute(context={})

    assert set(_state(sandbox)) == {f"o-{i}" for i in range(1700)}
    assert (result["created"], result["not_attempted"], len(result["ids"])) == (1700, 800, 1700)
    lines = (tmp_path / "create_orders.not_attempted.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == [f"o-{i}" for i in range(1700, 2500)]
    assert result["not_attempted_path"].endswith("create_orders.not_attempted.jsonl")
    assert result["quota"]["on_short"] == "partial" and result["deferred_until"] == []


def test_enough_quota_writes_everything_without_waiting(sandbox, short_day, tmp_path):
    result = _orders(1500, tmp_path, on_quota_short="fail").execute(context={})
    assert len(_state(sandbox)) == 1500 and (result["created"], result["not_attempted"]) == (1500, 0)
    assert result["quota"]["needed"] == 15 and result["quota"]["available"] == 17


def test_a_429_daily_that_arrives_anyway_defers_instead_of_failing(sandbox, short_day, tmp_path):
    """Another integration spent the quota after the check: the write waits for the reset, then goes on."""
    sandbox.fault(429, policy="DAILY", count=1000, path="orders/batch/create")
    store = FakeTaskStateStore()
    op = _orders(300, tmp_path, on_quota_short="fail")
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context={"task_state_store": store})
    reset = datetime.fromisoformat(sandbox.day()["resets_at"])
    assert deferred.value.trigger.moment == reset + timedelta(minutes=1), "the portal's midnight, not a guess"
    assert _state(sandbox) == {}

    sandbox.clear_faults()
    sandbox.next_day()
    result = op.resume_after_reset(context={"task_state_store": store})
    assert set(_state(sandbox)) == {f"o-{i}" for i in range(300)} and result["created"] == 300
