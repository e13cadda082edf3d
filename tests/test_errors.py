"""Translation of HubSpot answers into typed errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hubspot_commerce.errors import (
    HubSpotAuthError,
    HubSpotDailyLimitReached,
    HubSpotMissingScopes,
    HubSpotRateLimited,
    HubSpotServerError,
    HubSpotValidationError,
    error_for_response,
    error_message,
    parse_body,
)

WHAT = "POST crm/objects/2026-09/orders/batch/create"


def test_burst_429_is_rate_limited_with_policy_and_retry_after():
    body = {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING", "message": "You have reached..."}
    error = error_for_response(429, body, {"Retry-After": "2"}, what=WHAT)
    assert isinstance(error, HubSpotRateLimited)
    assert (error.policy, error.retry_after, error.status) == ("TEN_SECONDLY_ROLLING", 2.0, 429)


def test_daily_429_names_the_quota_and_the_reset():
    body = {"errorType": "RATE_LIMIT", "policyName": "DAILY", "message": "You have reached your daily limit."}
    error = error_for_response(429, body, {}, what=WHAT)
    assert isinstance(error, HubSpotDailyLimitReached)
    assert not isinstance(error, HubSpotRateLimited)  # a retry policy for bursts must not retry this
    assert "daily API quota" in str(error) and f"{error.resets_at:%Y-%m-%d %H:%M:%S}" in str(error)
    assert error.resets_at > datetime.now(UTC)


def test_missing_scopes_are_named():
    body = {
        "category": "MISSING_SCOPES",
        "message": "This app hasn't been granted all required scopes to make this call.",
        "errors": [{"context": {"requiredGranularScopes": ["crm.objects.orders.write"]}}],
    }
    error = error_for_response(403, body, {}, what=WHAT)
    assert isinstance(error, HubSpotMissingScopes) and isinstance(error, HubSpotAuthError)
    assert error.scopes == ["crm.objects.orders.write"]
    assert "crm.objects.orders.write" in str(error)


@pytest.mark.parametrize(
    ("status", "kind", "uncertain"),
    [
        (401, HubSpotAuthError, None),
        (400, HubSpotValidationError, None),
        (409, HubSpotValidationError, None),
        (423, HubSpotServerError, False),
        (477, HubSpotServerError, False),
        (500, HubSpotServerError, True),
        (502, HubSpotServerError, True),
        (504, HubSpotServerError, True),
    ],
)
def test_status_classes(status, kind, uncertain):
    error = error_for_response(status, {"message": "x", "correlationId": "c-1"}, {}, what=WHAT)
    assert type(error) is kind
    assert error.correlation_id == "c-1" and WHAT in str(error)
    if uncertain is not None:
        assert error.write_uncertain is uncertain


def test_non_json_bodies_are_kept_short():
    assert parse_body("<html>bad gateway</html>") == {"message": "<html>bad gateway</html>"}
    assert parse_body("") == {}
    assert parse_body('{"a": 1}') == {"a": 1}


def test_a_validation_rule_names_itself_in_the_message():
    """HubSpot's 2026-09 rule errors say which rule only in their ``errors`` items."""
    rule = "hs_total_price is required because of a conditional property rule based on [hs_currency_code]"
    body = {
        "category": "VALIDATION_ERROR",
        "message": "The property values provided are invalid",
        "errors": [{"code": "MISSING_CONDITIONAL_REQUIRED_PROPERTY", "message": rule}],
    }
    assert error_message(body) == f"The property values provided are invalid: {rule}"
    assert str(error_for_response(400, body, {}, what=WHAT)).endswith(f"invalid: {rule}")


def test_item_messages_the_message_already_holds_are_not_repeated():
    detail = 'Property "nope" does not exist'
    embedded = json.dumps([{"isValid": False, "message": detail, "error": "PROPERTY_DOESNT_EXIST"}])
    body = {"message": f"Property values were not valid: {embedded}", "errors": [{"message": detail}]}
    assert error_message(body) == body["message"]
    same = {"message": "Contact already exists", "errors": [{"message": "Contact already exists"}]}
    assert error_message(same) == "Contact already exists"
    assert error_message({}) == ""
