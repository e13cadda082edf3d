"""The token's scopes, asked of the sandbox over HTTP: a private app token's scopes, a token HubSpot refuses
named as refused with the connection to fix, and a token HubSpot accepts but does not describe left
unchecked."""

from __future__ import annotations

import json

import pytest

from hubspot_commerce.errors import HubSpotAuthError, HubSpotMissingScopes
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_sandbox.token_api import ALL_SCOPES

INTROSPECTION = {
    "POST /oauth/v2/private-apps/get/access-token-info",
    "GET /oauth/v1/access-tokens/not-a-token",  # the sandbox's counters show the path as sent
}
REFUSED = (
    "HubSpot refused the token of connection 'hubspot_wrong' (INVALID_AUTHENTICATION): copy the access token "
    "of the private app or service key in HubSpot into the connection's password and run again"
)


def _paths(sandbox) -> set[str]:
    return set(sandbox.stats()["by_path"])


def test_a_private_app_tokens_scopes_come_from_one_request(sandbox, hubspot_conn):
    assert HubSpotHook(hubspot_conn).token_scopes() == set(ALL_SCOPES)
    assert _paths(sandbox) == {"POST /oauth/v2/private-apps/get/access-token-info"}


def test_a_token_hubspot_does_not_know_is_refused_naming_the_connection(sandbox, monkeypatch):
    connection = {"conn_type": "hubspot", "host": sandbox.url, "password": "not-a-token"}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_WRONG", json.dumps(connection))
    with pytest.raises(HubSpotAuthError) as caught:
        HubSpotHook("hubspot_wrong").token_scopes()
    assert str(caught.value) == REFUSED
    assert caught.value.status == 401 and not isinstance(caught.value, HubSpotMissingScopes)
    assert "not-a-token" not in str(caught.value)
    paths = _paths(sandbox)
    assert {p for p in paths if "/oauth/" in p} == INTROSPECTION, "both introspections said 404"
    assert paths - INTROSPECTION == {"GET /account-info/v3/details"}, "one read decided"


def test_a_token_hubspot_accepts_but_does_not_describe_is_not_checked(sandbox, hubspot_conn):
    """Both introspection endpoints answer 404 (as they might for a kind of token they do not cover), and a
    read with the token succeeds: no scopes to check, no error."""
    sandbox.fault(404, path="/oauth/", count=2)
    assert HubSpotHook(hubspot_conn).token_scopes() is None
    assert "GET /account-info/v3/details" in _paths(sandbox)
