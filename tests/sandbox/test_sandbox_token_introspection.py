"""Token introspection: which scopes a private app token, a service key or an OAuth token holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sandbox_helpers import Api

from hubspot_sandbox.process import SandboxProcess
from hubspot_sandbox.schema import PORTAL_ID

SCOPED = "scoped:crm.objects.orders.write,crm.objects.orders.read"
CLIENT = "app:secret:refresh-1:crm.objects.orders.write,crm.objects.contacts.read"
INTROSPECT_VERSIONS = ("v3", "2026-03", "2026-09")


@pytest.fixture(scope="module")
def portal() -> Iterator[SandboxProcess]:
    """A sandbox with an every-scope token, a scoped one and an OAuth app."""
    with SandboxProcess(tokens=["full", SCOPED], oauth_clients=[CLIENT]) as sb:
        yield sb


@pytest.fixture
def access_token(portal: SandboxProcess) -> str:
    """A fresh OAuth access token of the app."""
    granted = requests.post(
        f"{portal.url}/oauth/2026-09/token",
        data={
            "grant_type": "refresh_token",
            "client_id": "app",
            "client_secret": "secret",
            "refresh_token": "refresh-1",
        },
        timeout=30,
    )
    return granted.json()["access_token"]


def _private_app(portal: SandboxProcess, token: str) -> requests.Response:
    return requests.post(
        f"{portal.url}/oauth/v2/private-apps/get/access-token-info", json={"tokenKey": token}, timeout=30
    )


def _introspect(portal: SandboxProcess, version: str, **form: str) -> requests.Response:
    return requests.post(f"{portal.url}/oauth/{version}/token/introspect", data=form, timeout=30)


def test_private_app_token_info_names_the_scopes_of_a_scoped_token(portal):
    scoped = _private_app(portal, "scoped")
    full = _private_app(portal, "full")

    assert scoped.status_code == 200
    assert scoped.json() == {
        "userId": scoped.json()["userId"],
        "hubId": PORTAL_ID,
        "appId": scoped.json()["appId"],
        "scopes": ["crm.objects.orders.read", "crm.objects.orders.write"],
    }
    assert full.json()["appId"] != scoped.json()["appId"]
    assert {
        "crm.objects.orders.write",
        "crm.objects.commercepayments.write",
        "crm.schemas.products.write",
        "e-commerce",
    } <= set(full.json()["scopes"])


def test_the_introspected_scopes_are_the_ones_enforced(portal):
    scopes = set(_private_app(portal, "scoped").json()["scopes"])
    scoped = Api(portal.url, "scoped", family="2026-09")

    refused = scoped.get("/crm/objects/2026-09/products")
    allowed = scoped.get("/crm/objects/2026-09/orders")

    assert refused.status_code == 403
    assert not scopes & set(refused.json()["errors"][0]["context"]["requiredGranularScopes"])
    assert allowed.status_code == 200


def test_private_app_token_info_refuses_unknown_and_oauth_tokens(portal, access_token):
    unknown = _private_app(portal, "nope")
    oauth = _private_app(portal, access_token)
    malformed = requests.post(
        f"{portal.url}/oauth/v2/private-apps/get/access-token-info", json={"token": "scoped"}, timeout=30
    )

    assert unknown.status_code == 404 and unknown.json()["category"] == "OBJECT_NOT_FOUND"
    assert oauth.status_code == 404
    assert malformed.status_code == 400


def test_oauth_access_token_metadata(portal, access_token):
    response = requests.get(f"{portal.url}/oauth/v1/access-tokens/{access_token}", timeout=30)
    unknown = requests.get(f"{portal.url}/oauth/v1/access-tokens/nope", timeout=30)
    private = requests.get(f"{portal.url}/oauth/v1/access-tokens/scoped", timeout=30)

    assert response.status_code == 200
    body = response.json()
    assert body["token"] == access_token
    assert body["scopes"] == ["crm.objects.contacts.read", "crm.objects.orders.write"]
    assert body["hub_id"] == PORTAL_ID
    assert 0 < body["expires_in"] <= 1800
    assert body["signed_access_token"]["isUserLevel"] is True
    assert unknown.status_code == 404
    assert private.status_code == 404


@pytest.mark.parametrize("version", INTROSPECT_VERSIONS)
def test_introspection_of_oauth_access_and_refresh_tokens(portal, access_token, version):
    credentials = {"client_id": "app", "client_secret": "secret"}

    access = _introspect(portal, version, token=access_token, **credentials)
    refresh = _introspect(portal, version, token="refresh-1", token_type_hint="refresh_token", **credentials)
    wrong_secret = _introspect(portal, version, token=access_token, client_id="app", client_secret="nope")

    assert access.status_code == 200
    assert access.json()["active"] is True
    assert access.json()["token_use"] == "access_token"
    assert access.json()["client_id"] == "app"
    assert access.json()["scopes"] == ["crm.objects.contacts.read", "crm.objects.orders.write"]
    assert 0 < access.json()["expires_in"] <= 1800
    assert refresh.json()["active"] is True
    assert refresh.json()["token_use"] == "refresh_token"
    assert "expires_in" not in refresh.json()
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["status"] == "BAD_CLIENT_ID"


@pytest.mark.parametrize("version", INTROSPECT_VERSIONS)
def test_introspection_of_static_unknown_and_missing_tokens(portal, version):
    static = _introspect(portal, version, token="scoped")
    unknown = _introspect(portal, version, token="nope", client_id="app", client_secret="secret")
    missing = _introspect(portal, version)
    as_json = requests.post(
        f"{portal.url}/oauth/{version}/token/introspect", json={"token": "scoped"}, timeout=30
    )

    assert static.json()["active"] is True
    assert static.json()["scopes"] == ["crm.objects.orders.read", "crm.objects.orders.write"]
    assert static.json()["is_private_distribution"] is True
    assert static.json()["signed_access_token"]["isServiceAccount"] is True
    assert unknown.status_code == 200
    assert unknown.json() == {"active": False}
    assert missing.status_code == 400
    assert as_json.status_code == 400


def test_an_expired_access_token_is_inactive():
    with SandboxProcess(oauth_clients=["app:secret:refresh-1"], extra_args=["--oauth-expires-in", "0"]) as sb:
        token = requests.post(
            f"{sb.url}/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "app",
                "client_secret": "secret",
                "refresh_token": "refresh-1",
            },
            timeout=30,
        ).json()["access_token"]
        introspected = _introspect(sb, "2026-09", token=token, client_id="app", client_secret="secret")
        metadata = requests.get(f"{sb.url}/oauth/v1/access-tokens/{token}", timeout=30)

    assert introspected.json() == {"active": False}
    assert metadata.status_code == 404
