"""The connection's ``api_version`` extra (default, accepted, refused), and each path answered by the
sandbox on its own path family."""

from __future__ import annotations

import json

import pytest

from hubspot_commerce.client.api_paths import API_VERSIONS, ApiPaths
from hubspot_commerce.errors import HubSpotConfigurationError
from hubspot_commerce.hooks.hubspot import HubSpotHook


def _hook(monkeypatch: pytest.MonkeyPatch, host: str = "http://127.0.0.1:9", **extra: object) -> HubSpotHook:
    connection = {"conn_type": "hubspot", "host": host, "password": "test-token", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(connection))
    return HubSpotHook()


@pytest.mark.parametrize(
    "extra", [{}, {"api_version": ""}, {"api_version": None}], ids=["absent", "empty", "null"]
)
def test_without_an_api_version_the_hook_speaks_2026_09(monkeypatch, extra) -> None:
    assert _hook(monkeypatch, **extra).paths == ApiPaths("2026-09")


@pytest.mark.parametrize("version", [*API_VERSIONS, " v3 "])
def test_each_accepted_api_version(monkeypatch, version: str) -> None:
    hook = _hook(monkeypatch, api_version=version)
    assert hook.paths == ApiPaths(version.strip())
    assert hook.engine.paths is hook.paths, "the batch engine sends to the hook's paths"


@pytest.mark.parametrize("version", ["2025-09", "2027-03", "v4", "V3", "latest", 3])
def test_any_other_api_version_is_refused_naming_the_allowed_ones(monkeypatch, version: object) -> None:
    hook = _hook(monkeypatch, api_version=version)
    with pytest.raises(HubSpotConfigurationError) as refused:
        hook.paths  # noqa: B018
    message = str(refused.value)
    assert "'hubspot_default'" in message and repr(str(version)) in message
    assert "2026-09, 2026-03, v3" in message
    ok, said = hook.test_connection()  # the Test button says so without sending anything
    assert not ok and "api_version must be one of 2026-09, 2026-03, v3" in said


@pytest.mark.parametrize("hubspot_conn", API_VERSIONS, indirect=True)
def test_the_sandbox_answers_every_path_on_its_own_family(sandbox, hubspot_conn) -> None:
    """Each path of the table reaches its endpoint (the sandbox serves HubSpot's paths of both families, and
    names each route by its own family's template in its stats)."""
    hook = HubSpotHook(hubspot_conn_id=hubspot_conn)
    paths = hook.paths
    created = hook.send(
        "POST", paths.batch("contacts", "create"), {"inputs": [{"properties": {"email": "a@b.co"}}]}
    )
    contact = created.body["results"][0]["id"]
    order = {"properties": {"hs_order_name": "#1"}, "associations": []}
    order_id = hook.send("POST", paths.objects("orders"), order).body["id"]
    link = {"from": {"id": order_id}, "to": {"id": contact}}
    link["types"] = [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 507}]
    upsert = {"idProperty": "hs_sku", "id": "SKU-1", "properties": {"name": "Tent", "price": "1"}}
    answers = [
        hook.send("GET", paths.record("orders", order_id)),
        hook.send("GET", paths.objects("orders")),
        hook.send("POST", paths.batch("orders", "read"), {"inputs": [{"id": order_id}], "properties": []}),
        hook.send("POST", paths.batch("orders", "update"), {"inputs": [{"id": order_id, "properties": {}}]}),
        hook.send("POST", paths.batch("products", "upsert"), {"inputs": [upsert]}),
        hook.send("GET", paths.properties("orders")),
        hook.send("POST", paths.association_batch("orders", "contacts", "create"), {"inputs": [link]}),
        hook.send(
            "POST", paths.association_batch("orders", "contacts", "read"), {"inputs": [{"id": order_id}]}
        ),
        hook.send("GET", paths.pipelines("orders")),
        hook.send("POST", paths.private_app_token_info(), {"tokenKey": "test-token"}),
        hook.send("POST", paths.batch("orders", "archive"), {"inputs": [{"id": order_id}]}),
    ]
    assert [a.status for a in answers if not 200 <= a.status < 300] == []
    metadata = hook.send("GET", paths.oauth_token_metadata("test-token"))
    assert metadata.body["message"] == "The access token is unknown or expired", "routed: not an OAuth token"
    routes = set(sandbox.stats()["by_path"])
    assert f"GET /{paths.record('orders', '{id}')}" in routes
    assert {"/crm/v3/" in route or "/crm/v4/" in route for route in routes if "/crm/" in route} == {
        not paths.dated
    }
