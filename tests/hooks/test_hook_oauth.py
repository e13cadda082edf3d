"""An OAuth app connection against a sandbox process: access tokens from the refresh token, refreshed before
they expire and once when HubSpot says one expired, one refresh for all threads, refused credentials failing
at once naming the connection, every secret masked, the token's scopes through introspection."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from airflow.sdk.log import redact

from hubspot_commerce.errors import HubSpotAuthError, HubSpotConfigurationError, HubSpotOAuthRefused
from hubspot_commerce.hooks.hubspot import HubSpotHook
from hubspot_sandbox.process import SandboxProcess

CONN_ID = "hubspot_oauth"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "commerce-app", "app-secret-0123", "refresh-token-4567"
SCOPES = "crm.objects.orders.read,crm.objects.orders.write,crm.schemas.orders.read"
TOKEN_PATH = "POST /oauth/2026-09/token"
OBJECT_TYPES = ["products", "orders", "contacts", "carts", "line_items", "commerce_payments"]


def _sandbox(expires_in: int, latency_ms: int = 0) -> SandboxProcess:
    """A sandbox whose OAuth app issues access tokens living ``expires_in`` seconds."""
    return SandboxProcess(
        oauth_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}:{REFRESH_TOKEN}"],
        latency_ms=latency_ms,
        extra_args=["--oauth-expires-in", str(expires_in)],
    )


@pytest.fixture(scope="module")
def short_lived() -> Iterator[SandboxProcess]:
    """Access tokens of 5 seconds; 150 ms per answer, so concurrent requests overlap."""
    with _sandbox(5, latency_ms=150) as sandbox:
        yield sandbox


def _hook(
    monkeypatch: pytest.MonkeyPatch, sandbox: SandboxProcess, refresh_token: str = REFRESH_TOKEN, **extra
) -> HubSpotHook:
    """A hook on an OAuth app connection (no password) to ``sandbox``."""
    app = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": refresh_token}
    connection = {"conn_type": "hubspot", "host": sandbox.url, "extra": {**app, **extra}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    sandbox.reset()
    return HubSpotHook(hubspot_conn_id=CONN_ID)


def _count(sandbox: SandboxProcess, route: str) -> int:
    return sandbox.stats()["by_path"].get(route, 0)


def test_a_token_is_refreshed_before_it_expires(monkeypatch, short_lived) -> None:
    """A 5-second token is replaced after 4 seconds (a fifth of its life as margin): no request is refused."""
    hook = _hook(monkeypatch, short_lived)
    hook.get_properties("orders")
    first = hook.oauth.access_token
    time.sleep(3.0)
    hook.get_properties("orders")
    assert hook.oauth.access_token == first, "still inside its life: no refresh"
    time.sleep(1.2)
    hook.get_properties("orders")
    assert hook.oauth.access_token != first
    stats = short_lived.stats()
    assert stats["by_path"][TOKEN_PATH] == 2 and hook.oauth.refreshes == 2
    assert stats["by_status"] == {"200": 5}, "nothing answered 401"


def test_a_token_hubspot_says_expired_is_refreshed_and_the_request_sent_once_more(
    monkeypatch, short_lived
) -> None:
    """Our clock says the token lives (a clock behind HubSpot's, a token revoked early): HubSpot's 401
    EXPIRED_AUTHENTICATION makes the hook refresh and resend once, and the caller sees the answer."""
    hook = _hook(monkeypatch, short_lived)
    hook.get_properties("orders")
    hook.oauth.clock = lambda: 0.0  # the token never looks old to the hook
    time.sleep(5.2)
    assert hook.get_properties("orders"), "answered after the refresh"
    stats = short_lived.stats()
    assert stats["by_status"] == {"200": 4, "401": 1}
    assert stats["by_path"][TOKEN_PATH] == 2


def test_a_token_expired_again_after_its_refresh_fails_instead_of_looping(monkeypatch) -> None:
    """Tokens that expire at once: the request is refreshed and resent once, then the 401 is the answer."""
    with _sandbox(0) as instant:
        hook = _hook(monkeypatch, instant)
        with pytest.raises(HubSpotAuthError, match="EXPIRED_AUTHENTICATION"):
            hook.get_properties("orders")
        stats = instant.stats()
    assert stats["by_path"]["GET /crm/properties/2026-09/orders"] == 2, "sent twice, not in a loop"
    assert stats["by_status"]["401"] == 2


def test_concurrent_threads_share_one_refresh(monkeypatch, short_lived) -> None:
    """Six threads start at once: one token is fetched for all. When it expires under them (HubSpot says so
    to each), only the first thread to hear it refreshes; the others resend with the new token."""
    hook = _hook(monkeypatch, short_lived)
    assert len(hook.get_properties_by_type(OBJECT_TYPES)) == len(OBJECT_TYPES)
    assert _count(short_lived, TOKEN_PATH) == 1
    hook.oauth.clock = lambda: 0.0
    time.sleep(5.2)
    assert len(hook.get_properties_by_type(OBJECT_TYPES)) == len(OBJECT_TYPES)
    stats = short_lived.stats()
    assert stats["by_path"][TOKEN_PATH] == 2, "one refresh for six expired answers"
    assert stats["by_status"]["401"] == len(OBJECT_TYPES)
    assert stats["by_status"]["200"] == 2 + 2 * len(OBJECT_TYPES)


def test_a_refused_refresh_token_fails_at_once_naming_the_connection(monkeypatch, short_lived) -> None:
    hook = _hook(monkeypatch, short_lived, refresh_token="revoked-refresh-token")
    with pytest.raises(HubSpotOAuthRefused) as refused:
        hook.get_properties("orders")
    message = str(refused.value)
    assert f"Connection {CONN_ID!r}" in message and "BAD_REFRESH_TOKEN" in message
    assert "revoked-refresh-token" not in message and CLIENT_SECRET not in message
    assert isinstance(refused.value, HubSpotAuthError), "the DAG's retry policy fails it at once"
    assert short_lived.stats()["by_path"] == {TOKEN_PATH: 1}, "asked once, no CRM request"


def test_every_token_and_secret_is_masked(monkeypatch, short_lived) -> None:
    hook = _hook(monkeypatch, short_lived)
    hook.get_properties("orders")
    token = hook.oauth.access_token
    for secret in (token, REFRESH_TOKEN, CLIENT_SECRET):
        assert secret not in str(redact(f"Authorization: Bearer {secret}")), secret
    assert token not in hook.client.transport.scrub(f"GET oauth/v1/access-tokens/{token}: no answer")


def test_an_oauth_tokens_scopes_come_from_introspection_on_the_connections_family(monkeypatch) -> None:
    """setup's pre-flight: the introspection of the connection's API family, asked with the app's
    credentials (not OAuth v1's metadata path, which holds the token and is deprecated)."""
    with SandboxProcess(oauth_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}:{REFRESH_TOKEN}:{SCOPES}"]) as sandbox:
        for version, family in (("2026-09", "2026-09"), ("v3", "v3")):
            hook = _hook(monkeypatch, sandbox, api_version=version)
            assert hook.token_scopes() == set(SCOPES.split(","))
            token = "v1" if version == "v3" else version
            assert sandbox.stats()["by_path"] == {
                f"POST /oauth/{token}/token": 1,
                f"POST /oauth/{family}/token/introspect": 1,
            }


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        ({"client_id": "a"}, "client_secret, refresh_token"),
        ({"refresh_token": "r"}, "client_id, client_secret"),
    ],
)
def test_an_incomplete_oauth_app_is_a_configuration_error_naming_what_is_missing(
    monkeypatch, extra, missing
) -> None:
    connection = {"conn_type": "hubspot", "host": "http://127.0.0.1:9", "password": "pat", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(connection))
    with pytest.raises(HubSpotConfigurationError, match=f"missing {missing}"):
        HubSpotHook(hubspot_conn_id=CONN_ID).get_conn()
