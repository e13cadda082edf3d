"""Scheduled faults (every kind) and the stats of the control API."""

from __future__ import annotations

import time

import pytest
import requests
from sandbox_helpers import order


@pytest.mark.parametrize("status", [500, 502, 503, 504, 423])
def test_status_faults_answer_once_then_recover(api, sandbox, status):
    sandbox.fault(status=status, count=1, path="batch/create")

    other_path = api.get(api.objects("orders"))
    faulted = api.batch("orders", "create", [{"properties": order()}])
    recovered = api.batch("orders", "create", [{"properties": order()}])

    assert other_path.status_code == 200
    assert faulted.status_code == status
    assert recovered.status_code == 201
    assert len(sandbox.dump("orders")) == 1  # the faulted request wrote nothing
    if status == 500:
        assert faulted.json()["message"] == "internal error"
    if status in (502, 503, 504):
        assert faulted.headers["Content-Type"] == "text/html"  # HubSpot's edge answers these, not as JSON


def test_477_carries_retry_after_seconds(api, sandbox):
    sandbox.fault(status=477, retry_after=7)

    response = api.get(api.objects("orders"))

    assert response.status_code == 477
    assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize("policy", ["TEN_SECONDLY_ROLLING", "DAILY"])
def test_429_fault_with_policy(api, sandbox, policy):
    sandbox.fault(status=429, count=2, policy=policy)

    responses = [api.get(api.objects("orders")) for _ in range(3)]

    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].json()["policyName"] == policy
    assert responses[0].json()["errorType"] == "RATE_LIMIT"
    assert responses[0].headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_drop_after_commit_writes_but_the_client_sees_a_connection_error(api, sandbox):
    assert api.get(api.objects("orders")).status_code == 200  # the drop happens on a kept-alive connection
    sandbox.fault(kind="drop_after_commit", count=1, path="orders/batch/create")

    with pytest.raises(requests.ConnectionError):
        api.batch("orders", "create", [{"properties": order("Order #77")}])

    (stored,) = sandbox.dump("orders")
    assert stored["properties"]["hs_order_name"] == "Order #77"
    retried = api.batch("orders", "create", [{"properties": order("Order #78")}])
    assert retried.status_code == 201  # the next request is served normally on a new connection
    assert sandbox.stats()["dropped_connections"] == 1


def test_delay_fault(api, sandbox):
    sandbox.fault(kind="delay", delay_ms=400, count=1)

    started = time.monotonic()
    slow = api.get(api.objects("orders"))
    slow_seconds = time.monotonic() - started
    started = time.monotonic()
    api.get(api.objects("orders"))
    fast_seconds = time.monotonic() - started

    assert slow.status_code == 200
    assert slow_seconds >= 0.4
    assert fast_seconds < 0.4


def test_invalid_fault_is_refused(sandbox):
    with pytest.raises(requests.HTTPError):
        sandbox.fault(status=418)


def test_stats_count_requests_statuses_and_paths(api, sandbox):
    api.batch("orders", "create", [{"properties": order()}, {"properties": order()}])
    api.batch("orders", "create", [{"properties": {"nope": "1"}}])
    api.post(f"{api.objects('orders')}/batch/read", {"inputs": [{"id": "1"}]})
    api.get(api.properties("orders"))

    stats = sandbox.stats()

    assert stats["requests"] == 4
    assert stats["by_status"] == {"201": 1, "400": 1, "207": 1, "200": 1}
    assert stats["by_path"][f"POST {api.objects('orders')}/batch/create"] == 2
    assert stats["write_requests"] == 2
    assert stats["inputs"] == 4
    assert stats["peak_requests_per_10s"] == 4
    sandbox.reset()
    assert sandbox.stats()["requests"] == 0


def test_latency_flag_slows_every_api_response():
    from hubspot_sandbox.process import SandboxProcess

    with SandboxProcess(latency_ms=300) as sb:
        started = time.monotonic()
        response = requests.get(
            f"{sb.url}/crm/v3/objects/orders", headers={"Authorization": f"Bearer {sb.token}"}
        )
        seconds = time.monotonic() - started

    assert response.status_code == 200
    assert seconds >= 0.3
