"""Authentication, scopes, OAuth refresh, rate-limit headers and 429s for both policies."""

from __future__ import annotations

import re

import requests
from sandbox_helpers import Api, order

from hubspot_sandbox.process import SandboxProcess


def test_missing_or_wrong_token_is_401(sandbox):
    for api in (Api(sandbox.url, token=None), Api(sandbox.url, token="wrong")):
        response = api.batch("orders", "create", [{"properties": order()}])
        assert response.status_code == 401
        body = response.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert body["correlationId"] == response.headers["X-HubSpot-Correlation-Id"]
    assert sandbox.dump("orders") == []


def test_token_without_the_scope_is_403_naming_it():
    with SandboxProcess(
        tokens=["full", "ro:crm.objects.products.read", "pay:crm.objects.commercepayments.read"]
    ) as sb:
        read_only = Api(sb.url, "ro")
        write = read_only.batch("products", "create", [{"properties": {"name": "a"}}])
        read = read_only.post("/crm/v3/objects/products/batch/read", {"inputs": [{"id": "1"}]})
        payments = Api(sb.url, "pay").batch("commerce_payments", "create", [{"properties": {}}])
        full = Api(sb.url, "full").batch("products", "create", [{"properties": {"name": "a"}}])
        assert len(sb.dump("products")) == 1

    assert write.status_code == 403
    body = write.json()
    assert body["category"] == "MISSING_SCOPES"
    assert "crm.objects.products.write" in body["errors"][0]["context"]["requiredGranularScopes"]
    assert read.status_code == 207  # the read scope is enough for batch/read
    assert payments.status_code == 403
    assert payments.json()["errors"][0]["context"]["requiredGranularScopes"] == [
        "crm.objects.commercepayments.write"
    ]
    assert full.status_code == 201


def test_rate_limit_headers_on_every_response(api, sandbox):
    sandbox.set_limits(rate_limit=50, daily_limit=1000)

    first = api.get(api.objects("products"))
    second = api.batch("products", "create", [{"properties": {"nope": "1"}}])

    headers = first.headers
    assert headers["X-HubSpot-RateLimit-Max"] == "50"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "49"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert headers["X-HubSpot-RateLimit-Daily"] == "1000"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "999"
    assert headers["X-HubSpot-RateLimit-Secondly"] == "5"
    assert second.status_code == 400
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "48"


def test_ten_secondly_rolling_429():
    with SandboxProcess(tokens=["t"], rate_limit=3) as sb:
        api = Api(sb.url, "t")
        statuses = [api.get(api.objects("orders")).status_code for _ in range(4)]
        limited = api.batch("orders", "create", [{"properties": order()}])
        assert sb.dump("orders") == []
        assert sb.stats()["peak_requests_per_10s"] == 5

    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    body = limited.json()
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["correlationId"]
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_daily_429():
    with SandboxProcess(tokens=["t"], daily_limit=2) as sb:
        api = Api(sb.url, "t")
        statuses = [api.get(api.objects("orders")).status_code for _ in range(3)]
        last = api.get(api.objects("orders"))

    assert statuses == [200, 200, 429]
    assert last.json()["policyName"] == "DAILY"
    assert last.json()["message"] == "You have reached your daily limit."
    assert last.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_limits_can_be_changed_at_runtime_and_reset_restores_them(api, sandbox):
    sandbox.set_limits(rate_limit=1)
    assert [api.get(api.objects("orders")).status_code for _ in range(2)] == [200, 429]

    sandbox.reset()

    assert api.get(api.objects("orders")).status_code == 200
    assert sandbox.stats()["rate_limit"] == 1_000_000


def test_oauth_refresh_token_grant():
    with SandboxProcess(tokens=["t"], oauth_clients=["app:secret:refresh-1"]) as sb:
        token_url = f"{sb.url}/oauth/v1/token"
        granted = requests.post(
            token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": "app",
                "client_secret": "secret",
                "refresh_token": "refresh-1",
            },
        )
        wrong = requests.post(
            token_url,
            data={
                "grant_type": "refresh_token",
                "client_id": "app",
                "client_secret": "secret",
                "refresh_token": "nope",
            },
        )
        access = granted.json()["access_token"]
        used = Api(sb.url, access).batch("orders", "create", [{"properties": order()}])

    assert granted.status_code == 200
    assert granted.json()["refresh_token"] == "refresh-1"
    assert granted.json()["expires_in"] == 1800
    assert wrong.status_code == 400 and wrong.json()["status"] == "BAD_REFRESH_TOKEN"
    assert used.status_code == 201
    assert "X-HubSpot-RateLimit-Daily" not in used.headers  # not sent to OAuth callers
    assert used.headers["X-HubSpot-RateLimit-Max"] == "190"


def test_expired_oauth_token_is_401_expired():
    with SandboxProcess(oauth_clients=["app:secret:r"], extra_args=["--oauth-expires-in", "0"]) as sb:
        granted = requests.post(
            f"{sb.url}/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "app",
                "client_secret": "secret",
                "refresh_token": "r",
            },
        )
        response = Api(sb.url, granted.json()["access_token"]).get("/crm/v3/objects/orders")

    assert response.status_code == 401
    body = response.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    expired = r"The OAuth token used to make this call expired \d+ second\(s\) ago\."
    assert re.fullmatch(expired, body["message"])
    (expired_at,) = body["context"]["expire time"]  # HubSpot's shape: ISO-8601 UTC with milliseconds
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expired_at)


def test_each_app_has_its_own_burst_window_but_the_daily_limit_is_shared():
    with SandboxProcess(tokens=["app-a", "app-b"], rate_limit=2, daily_limit=5) as sb:
        a, b = Api(sb.url, "app-a"), Api(sb.url, "app-b")
        burst_a = [a.get("/crm/v3/objects/orders").status_code for _ in range(3)]
        burst_b = [b.get("/crm/v3/objects/orders").status_code for _ in range(2)]
        daily = b.get("/crm/v3/objects/orders")

    assert burst_a == [200, 200, 429]
    assert burst_b == [200, 200]
    assert daily.status_code == 429 and daily.json()["policyName"] == "DAILY"
