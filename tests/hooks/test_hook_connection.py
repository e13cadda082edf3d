"""The hook's connection: the session it builds, the base URL, the secret masker and the Test button."""

from __future__ import annotations

import json
import time

import pytest
import requests
from airflow.models.connection import Connection as ConnectionModel
from airflow.sdk.log import redact

from hubspot_commerce.hooks.hubspot import HubSpotHook

SECRET = "pat-na1-0000-SECRET-TOKEN"


def _hook(monkeypatch: pytest.MonkeyPatch, conn_id: str = "hubspot_default", **fields) -> HubSpotHook:
    connection = {"conn_type": "hubspot", "host": "https://api.hubapi.com", "password": SECRET, **fields}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    return HubSpotHook(hubspot_conn_id=conn_id)


@pytest.mark.parametrize("verify", [False, "false", "", None])
def test_tls_verification_is_always_on(monkeypatch, verify):
    session = _hook(monkeypatch, extra={"verify": verify}).get_conn()
    assert session.verify is True


def test_a_ca_bundle_path_is_used_for_verification(monkeypatch):
    session = _hook(monkeypatch, extra={"verify": "/etc/ssl/certs/corporate.pem"}).get_conn()
    assert session.verify == "/etc/ssl/certs/corporate.pem"


def test_connection_extras_are_settings_never_headers(monkeypatch):
    hook = _hook(monkeypatch, extra={"timeout": "7", "portal_id": "123", "X-Debug": "1"})
    session = hook.get_conn()
    assert hook.timeout == 7.0
    request = requests.Request("POST", hook.url(hook.paths.batch("orders", "create")), json={"inputs": []})
    sent = session.prepare_request(request).headers
    assert {"portal_id", "X-Debug", "timeout"}.isdisjoint(sent)
    assert sent["Authorization"] == f"Bearer {SECRET}"
    assert sent["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("host", "base_url"),
    [
        (None, "https://api.hubapi.com"),
        ("api.hubapi.com", "https://api.hubapi.com"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
    ],
)
def test_base_url_from_the_host(monkeypatch, host, base_url):
    hook = _hook(monkeypatch, host=host)
    assert hook.base_url == base_url
    endpoint = hook.paths.properties("orders")
    assert hook.url(f"/{endpoint}") == hook.url(endpoint) == f"{base_url}/{endpoint}"


def test_the_token_is_masked_once_the_session_exists(monkeypatch):
    _hook(monkeypatch).get_conn()
    assert SECRET not in str(redact(f"Authorization: Bearer {SECRET}"))


def test_no_http_hook_methods_bypass_the_limiter():
    """The hook wraps its session: HttpHook's run, run_and_check and run_with_advanced_retry are absent."""
    for name in ("run", "run_and_check", "run_with_advanced_retry"):
        assert not hasattr(HubSpotHook, name), name


def test_the_connection_test_button_lists_properties(sandbox, monkeypatch):
    """What the UI's Test button runs: the connection model resolves the hook by conn type and calls
    ``test_connection`` (the API server exports the form's values as an environment connection)."""
    fields = {"conn_type": "hubspot", "host": sandbox.url}
    good = ConnectionModel(conn_id="hubspot_ui_test", password="test-token", **fields)
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_UI_TEST", good.as_json())
    assert good.test_connection() == (True, "Connection to HubSpot works")
    assert sandbox.stats()["by_path"] == {"GET /crm/properties/2026-09/products": 1}

    bad = ConnectionModel(conn_id="hubspot_ui_test", password=SECRET, **fields)
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_UI_TEST", bad.as_json())
    ok, message = bad.test_connection()
    assert not ok
    assert "HubSpot refused the access token" in message and SECRET not in message


def test_a_dead_host_fails_the_test_button_in_seconds(monkeypatch):
    """One attempt, no retries: nothing listens on port 9 of this machine."""
    hook = _hook(monkeypatch, host="http://127.0.0.1:9", extra={"timeout": 2})
    started = time.monotonic()
    ok, message = hook.test_connection()
    assert not ok and time.monotonic() - started < 5
    assert message.startswith("http://127.0.0.1:9: ") and "Connection refused" in message


def test_a_hook_logs_once_where_it_sends_never_the_token(monkeypatch, capfd):
    """A task's log says which host and which connection its HubSpot calls use, once."""
    hook = _hook(monkeypatch, host="http://127.0.0.1:9", extra={"timeout": 2})
    hook.session, hook.session  # noqa: B018 - built once, logged once
    out = "".join(capfd.readouterr())
    assert out.count("HubSpot at http://127.0.0.1:9, connection 'hubspot_default'") == 1, out
    assert SECRET not in out
