"""The hook's connection: the session it builds, the base URL, the secret masker and the Test button."""

from __future__ import annotations

import json
import time

import pytest
import requests
import tenacity
from airflow.models.connection import Connection as ConnectionModel
from airflow.sdk.log import redact

from hubspot_commerce.client.http_transport import OAuthBearer
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
    url = hook.client.transport.url(hook.paths.batch("orders", "create"))
    request = requests.Request("POST", url, json={"inputs": []})
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
    url = hook.client.transport.url
    assert url(f"/{endpoint}") == url(endpoint) == f"{base_url}/{endpoint}"


def test_the_token_is_masked_once_the_session_exists(monkeypatch):
    _hook(monkeypatch).get_conn()
    assert SECRET not in str(redact(f"Authorization: Bearer {SECRET}"))


def test_no_http_hook_methods_bypass_the_limiter(sandbox, hubspot_conn, monkeypatch):
    """HttpHook's run and run_with_advanced_retry go through the rate limiter and the batch engine (which
    retries a 503); run_and_check, the raw send of a prepared request, is refused."""
    hook = HubSpotHook(hubspot_conn_id=hubspot_conn)
    hook.method = "GET"
    endpoint = hook.paths.properties("orders")
    paced: list[object] = []
    acquire = hook.limiter.acquire
    monkeypatch.setattr(hook.limiter, "acquire", lambda stop: paced.append(stop) or acquire(stop))
    sandbox.fault(503, count=1, path=endpoint)
    body = hook.run(endpoint)
    assert body["results"], body
    retry = {"stop": tenacity.stop_after_attempt(1), "reraise": True}
    assert hook.run_with_advanced_retry(retry, endpoint) == body
    assert sandbox.stats()["by_path"] == {f"GET /{endpoint}": 3}, "the 503, its retry, the second run"
    assert len(paced) == 3, "each request waited for the limiter"
    with pytest.raises(NotImplementedError, match="rate limiter"):
        hook.run_and_check(hook.session, requests.Request("GET", hook.base_url).prepare(), {})
    with pytest.raises(TypeError, match="JSON body"):
        hook.run(endpoint, headers={"X-Debug": "1"})


def test_connection_extras_never_become_headers_nor_leak(monkeypatch, capfd, caplog):
    """Every extra this connection type knows (secrets among them) and any other stays out of the session's
    headers, out of the request HubSpot gets, and out of the logs; the OAuth app's secrets as well."""
    settings = {"timeout": "7", "api_version": "2026-03", "daily_limit": "250000", "verify": "false"}
    extra = {**settings, "portal_id": "123"}
    app = {"client_id": "app-id", "client_secret": "app-SECRET-client", "refresh_token": "app-SECRET-refresh"}
    with caplog.at_level("DEBUG"):
        static = _hook(monkeypatch, extra=extra).get_conn()
        oauth_session = _hook(monkeypatch, "hubspot_oauth", extra={**extra, **app}, password="").get_conn()
    sent = static.prepare_request(requests.Request("POST", "https://api.hubapi.com/x", json={})).headers
    for headers in (static.headers, sent, oauth_session.headers):
        assert {*extra, *app}.isdisjoint(name.lower() for name in headers), headers
        assert not any("app-SECRET" in str(value) or value in ("7", "123") for value in headers.values())
    assert sent["Authorization"] == f"Bearer {SECRET}" and static.verify is True
    assert isinstance(oauth_session.auth, OAuthBearer), "the app's token is put on each request"
    logged = "".join(capfd.readouterr()) + caplog.text
    assert "SECRET" not in logged, logged
    for secret in (SECRET, app["client_secret"], app["refresh_token"]):
        assert secret not in str(redact(f"sent {secret}"))


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
