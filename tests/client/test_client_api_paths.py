"""``ApiPaths``: every path the client builds for each API version, written out."""

from __future__ import annotations

import pytest

from hubspot_commerce.client.api_paths import API_VERSIONS, ApiPaths

ACTIONS = ("create", "read", "update", "upsert", "archive")
# Every path of each version, written out: the table docs/explanation/api-versions.md shows.
EXPECTED = {
    version: {
        "objects": f"crm/objects/{version}/orders",
        "record": f"crm/objects/{version}/orders/123",
        **{f"batch {a}": f"crm/objects/{version}/orders/batch/{a}" for a in ACTIONS},
        "properties": f"crm/properties/{version}/orders",
        "association read": f"crm/associations/{version}/orders/contacts/batch/read",
        "association create": f"crm/associations/{version}/orders/contacts/batch/create",
        "pipelines": f"crm/pipelines/{version}/orders",
        "private app token": "oauth/v2/private-apps/get/access-token-info",
        "oauth token": "oauth/v1/access-tokens/TOKEN",
        "oauth token grant": f"oauth/{version}/token",
        "oauth introspection": f"oauth/{version}/token/introspect",
    }
    for version in ("2026-09", "2026-03")
} | {
    "v3": {
        "objects": "crm/v3/objects/orders",
        "record": "crm/v3/objects/orders/123",
        **{f"batch {a}": f"crm/v3/objects/orders/batch/{a}" for a in ACTIONS},
        "properties": "crm/v3/properties/orders",
        "association read": "crm/v4/associations/orders/contacts/batch/read",
        "association create": "crm/v4/associations/orders/contacts/batch/create",
        "pipelines": "crm/v3/pipelines/orders",
        "private app token": "oauth/v2/private-apps/get/access-token-info",
        "oauth token": "oauth/v1/access-tokens/TOKEN",
        "oauth token grant": "oauth/v1/token",
        "oauth introspection": "oauth/v3/token/introspect",
    }
}


def path_table(paths: ApiPaths) -> dict[str, str]:
    """Every path ``paths`` builds, under the names of ``EXPECTED``."""
    return {
        "objects": paths.objects("orders"),
        "record": paths.record("orders", "123"),
        **{f"batch {a}": paths.batch("orders", a) for a in ACTIONS},
        "properties": paths.properties("orders"),
        "association read": paths.association_batch("orders", "contacts", "read"),
        "association create": paths.association_batch("orders", "contacts", "create"),
        "pipelines": paths.pipelines("orders"),
        "private app token": paths.private_app_token_info(),
        "oauth token": paths.oauth_token_metadata("TOKEN"),
        "oauth token grant": paths.oauth_token(),
        "oauth introspection": paths.oauth_token_introspect(),
    }


@pytest.mark.parametrize("version", API_VERSIONS)
def test_every_path_of_each_version(version: str) -> None:
    assert path_table(ApiPaths(version)) == EXPECTED[version]


def test_the_default_version_is_2026_09_and_date_versioned() -> None:
    assert ApiPaths() == ApiPaths("2026-09") and ApiPaths().dated
    assert not ApiPaths("v3").dated


@pytest.mark.parametrize(("make", "action"), [("batch", "merge"), ("association_batch", "update")])
def test_an_action_the_client_does_not_send_is_refused(make: str, action: str) -> None:
    build = getattr(ApiPaths(), make)
    with pytest.raises(ValueError, match=action):
        build("orders", action) if make == "batch" else build("orders", "contacts", action)
