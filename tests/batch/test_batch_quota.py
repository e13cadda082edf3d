"""Daily quota planning: requests per plan, the reserve, the decision per on_quota_short, the reset moment."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hubspot_commerce.batch.quota import (
    QuotaPlan,
    QuotaRule,
    daily_quota,
    next_reset,
    plan_quota,
    portal_day,
    requests_for,
    stream_requests,
)

RESET = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(("records", "requests"), [(0, 0), (1, 1), (100, 1), (101, 2), (250, 3)])
def test_one_request_per_batch_of_100(records, requests):
    assert requests_for(records) == requests


def test_a_stream_plan_counts_each_write_action_and_the_relink_batches():
    plan = {"create": 250, "update": 1003, "unchanged": 7, "relinked": 1001, "rejected": 2}
    assert stream_requests(plan, upsert=False) == 3 + 1 + 2  # creates, 2 record updates, 1001 links
    assert stream_requests({"create": 50, "update": 60, "relinked": 0}, upsert=True) == 2
    assert stream_requests({"create": 50, "update": 60}, upsert=False) == 2
    assert stream_requests({"create": 0, "update": 0, "relinked": 0}, upsert=False) == 0


def test_the_reserve_is_ten_percent_of_the_limit_rounded_up_and_leaves_what_fits():
    plan = plan_quota(12, limit=105, remaining=20, rule=QuotaRule(), resets_at=RESET)
    assert (plan.reserve, plan.available, plan.short) == (11, 9, True)
    assert plan.records_that_fit(1200) == 900
    assert "needs 12 requests; 20 of 105 remain today, 11 reserved" in plan.describe()
    assert "9 available" in plan.describe() and "2026-12-05 05:00 UTC" in plan.describe()


def test_enough_quota_writes_everything_whatever_the_setting():
    for on_short in ("defer", "fail", "partial"):
        plan = plan_quota(9, limit=100, remaining=19, rule=QuotaRule(on_short, 0.1), resets_at=RESET)
        assert not plan.short and plan.records_that_fit(900) == 900


@pytest.mark.parametrize(("on_short", "fits"), [("defer", 400), ("partial", 400), ("fail", 0)])
def test_short_quota_writes_what_fits_unless_fail(on_short, fits):
    plan = plan_quota(10, limit=100, remaining=14, rule=QuotaRule(on_short, 0.1), resets_at=RESET)
    assert plan.short and plan.records_that_fit(1000) == fits


def test_a_spent_quota_or_one_below_the_reserve_leaves_nothing():
    plan = plan_quota(1, limit=100, remaining=5, rule=QuotaRule("defer", 0.1), resets_at=RESET)
    assert (plan.available, plan.short, plan.records_that_fit(50)) == (0, True, 0)


def test_a_custom_reserve_and_none():
    assert plan_quota(5, 1000, 300, QuotaRule("fail", 0.25), RESET).available == 50
    assert plan_quota(5, 1000, 3, QuotaRule("fail", 0.0), RESET).available == 3


def test_an_unreported_quota_oauth_is_never_short():
    plan = plan_quota(10**6, limit=None, remaining=None, rule=QuotaRule("fail"), resets_at=RESET)
    assert (plan.available, plan.short, plan.records_that_fit(7)) == (None, False, 7)
    assert "reported no daily quota" in plan.describe()


def test_the_plan_as_json_and_back():
    plan = plan_quota(12, limit=105, remaining=20, rule=QuotaRule("partial"), resets_at=RESET)
    plan = replace(plan, portal="1234", time_zone="US/Eastern")
    assert plan.to_json() == {
        "needed": 12,
        "limit": 105,
        "remaining": 20,
        "reserve": 11,
        "available": 9,
        "on_short": "partial",
        "resets_at": "2026-12-05T05:00:00+00:00",
        "portal": "1234",
        "time_zone": "US/Eastern",
    }
    assert QuotaPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


@pytest.mark.parametrize(
    ("on_short", "reserve", "message"),
    [("wait", 0.1, "on_quota_short must be one of"), ("defer", 1.0, "quota_reserve must be"),
     ("defer", -0.1, "quota_reserve must be")],
)  # fmt: skip
def test_a_bad_rule_is_refused_naming_the_setting(on_short, reserve, message):
    with pytest.raises(ValueError, match=message):
        QuotaRule(on_short, reserve)


def test_the_reset_is_the_next_midnight_in_the_portal_time_zone():
    evening_utc = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)  # 18:30 in New York (EST, UTC-5)
    assert next_reset(evening_utc, "America/New_York") == datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
    assert next_reset(evening_utc, "Europe/Berlin") == datetime(2026, 12, 5, 23, 0, tzinfo=UTC)
    assert next_reset(evening_utc, "UTC") == datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # EDT, UTC-4
    assert next_reset(summer, "US/Eastern") == datetime(2026, 7, 2, 4, 0, tzinfo=UTC)


def test_a_daily_429_resets_after_retry_after_else_at_the_next_utc_midnight():
    """A ``429 DAILY`` names no time zone: ``Retry-After`` if HubSpot sent one, else the next UTC midnight."""
    now = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
    assert next_reset(now, None) == datetime(2026, 11, 23, tzinfo=UTC)
    assert next_reset(now, None, retry_after=60.0) == datetime(2026, 11, 22, 15, 31, tzinfo=UTC)


def test_an_unknown_or_missing_time_zone_counts_as_utc():
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert next_reset(now, "Mars/Olympus") == next_reset(now, None) == datetime(2026, 12, 5, tzinfo=UTC)


def test_the_portal_day_is_the_date_in_its_time_zone():
    evening_utc = datetime(2026, 12, 4, 23, 30, tzinfo=UTC)
    assert portal_day(evening_utc, "America/New_York") == "2026-12-04"
    assert portal_day(evening_utc, "Europe/Berlin") == "2026-12-05"
    assert portal_day(evening_utc, None) == portal_day(evening_utc, "Mars/Olympus") == "2026-12-04"


@pytest.mark.parametrize(
    ("reported", "configured", "used", "expected"),
    [((20, 7), 1000, 500, (20, 7)),  # HubSpot's headers win over the configuration
     ((20, 0), 1000, 0, (20, 0)),  # a daily 429's 0 too
     ((None, None), 250_000, 1_200, (250_000, 248_800)),  # OAuth: configured limit minus recorded usage
     ((None, None), 20, 25, (20, 0)),  # more used than configured: nothing remains, never negative
     ((None, None), None, 1_200, (None, None))],  # nothing configured: unknown
)  # fmt: skip
def test_without_daily_headers_the_configured_limit_minus_the_recorded_usage_remains(
    reported, configured, used, expected
):
    assert daily_quota(reported, configured, used) == expected


def test_a_configured_limit_makes_an_oauth_write_short():
    limit, remaining = daily_quota((None, None), 20, 12)
    plan = plan_quota(10, limit, remaining, QuotaRule("partial"), RESET)
    assert (plan.remaining, plan.reserve, plan.available, plan.short) == (8, 2, 6, True)
    assert plan.records_that_fit(1000) == 600
