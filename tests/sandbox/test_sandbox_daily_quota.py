"""The sandbox's day: the daily quota resets at midnight in the portal's time zone, which the account details
report; the control API starts the next day at once or moves the reset, so tests need not wait
for midnight."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sandbox_helpers import Api

from hubspot_sandbox.process import SandboxProcess


def _spend(api: Api, n: int) -> list[int]:
    return [api.get(api.objects("orders")).status_code for _ in range(n)]


def test_the_account_details_name_the_time_zone_and_the_day_ends_at_its_midnight():
    with SandboxProcess(tokens=["t"], daily_limit=10, time_zone="America/New_York") as sb:
        details = Api(sb.url, "t").get("/account-info/v3/details")
        day = sb.day()

    assert details.status_code == 200
    body = details.json()
    assert body["timeZone"] == "America/New_York"
    zone = ZoneInfo("America/New_York")
    offset_ms = int(datetime.now(zone).utcoffset().total_seconds() * 1000)
    assert body["utcOffsetMilliseconds"] == offset_ms and body["utcOffset"] in ("-05:00", "-04:00")
    assert details.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "9", "the call counts like any other"
    resets_at = datetime.fromisoformat(day["resets_at"]).astimezone(zone)
    assert (resets_at.hour, resets_at.minute, resets_at.second) == (0, 0, 0)
    assert timedelta(0) < resets_at - datetime.now(UTC) <= timedelta(days=1)
    assert (day["daily_limit"], day["daily_used"], day["daily_remaining"]) == (10, 1, 9)


def test_next_day_makes_the_daily_quota_whole_again():
    with SandboxProcess(tokens=["t"], daily_limit=2) as sb:
        api = Api(sb.url, "t")
        spent = _spend(api, 3)
        refused = api.get(api.objects("orders"))
        day = sb.next_day()
        after = api.get(api.objects("orders"))

    assert spent == [200, 200, 429]
    assert refused.json()["policyName"] == "DAILY" and refused.json()["errorType"] == "RATE_LIMIT"
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert (day["daily_used"], day["daily_remaining"]) == (0, 2)
    assert after.status_code == 200 and after.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"


def test_a_moved_reset_ends_the_day_then_and_the_next_one_ends_at_midnight():
    with SandboxProcess(tokens=["t"], daily_limit=1) as sb:
        api = Api(sb.url, "t")
        assert _spend(api, 2) == [200, 429]
        moved = sb.reset_daily_at(in_seconds=1)
        still_spent = api.get(api.objects("orders")).status_code
        time.sleep(1.2)
        next_day = api.get(api.objects("orders")).status_code
        day = sb.day()

    assert datetime.fromisoformat(moved["resets_at"]) - datetime.now(UTC) < timedelta(seconds=1)
    assert (still_spent, next_day) == (429, 200)
    resets_at = datetime.fromisoformat(day["resets_at"])
    assert (resets_at.hour, resets_at.minute) == (0, 0), "then midnight again (UTC portal)"


def test_oauth_callers_get_no_daily_headers_but_share_the_daily_quota():
    with SandboxProcess(tokens=["t"], oauth_clients=["app:secret:refresh"], daily_limit=2) as sb:
        grant = {"grant_type": "refresh_token", "client_id": "app", "client_secret": "secret"}
        token = Api(sb.url, None).session.post(
            f"{sb.url}/oauth/v1/token", data={**grant, "refresh_token": "refresh"}
        )
        oauth = Api(sb.url, token.json()["access_token"])
        first = oauth.get(oauth.objects("orders"))
        private = Api(sb.url, "t").get("/account-info/v3/details")
        spent = oauth.get(oauth.objects("orders"))

    assert first.status_code == 200 and "X-HubSpot-RateLimit-Max" in first.headers
    assert "X-HubSpot-RateLimit-Daily" not in first.headers
    assert "X-HubSpot-RateLimit-Daily-Remaining" not in first.headers
    assert private.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    assert spent.status_code == 429 and spent.json()["policyName"] == "DAILY"


def test_the_control_call_refuses_a_naive_moment_and_an_empty_move(sandbox):
    import requests

    naive = requests.post(f"{sandbox.url}/_sandbox/day", json={"resets_at": "2026-12-04T18:00:00"}, timeout=5)
    empty = requests.post(f"{sandbox.url}/_sandbox/day", json={}, timeout=5)

    assert naive.status_code == 400 and "time zone offset" in naive.json()["error"]
    assert empty.status_code == 400
