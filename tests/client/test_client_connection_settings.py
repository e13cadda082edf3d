"""``ConnectionSettings``: what a ``hubspot`` connection's host and extras set, read without Airflow."""

from __future__ import annotations

import pytest

from hubspot_commerce.client.api_paths import ApiPaths
from hubspot_commerce.client.connection_settings import ConnectionSettings
from hubspot_commerce.client.oauth import OAuthApp
from hubspot_commerce.errors import HubSpotConfigurationError


def _settings(host: str | None = None, **extras: object) -> ConnectionSettings:
    return ConnectionSettings("hubspot_test", host, extras)


def test_defaults_without_extras() -> None:
    settings = _settings()
    assert settings.base_url == "https://api.hubapi.com"
    assert (settings.timeout, settings.paths, settings.daily_limit) == (60.0, ApiPaths("2026-09"), None)
    assert settings.oauth_app is None and settings.verify is True


@pytest.mark.parametrize(
    ("verify", "expected"), [(False, True), ("false", True), ("", True), ("/ca.pem", "/ca.pem")]
)
def test_tls_verification_is_never_off(verify: object, expected: object) -> None:
    assert _settings(verify=verify).verify == expected


@pytest.mark.parametrize("daily_limit", [0, -5, "many"])
def test_a_daily_limit_that_is_no_positive_number_is_refused_naming_the_connection(
    daily_limit: object,
) -> None:
    with pytest.raises(HubSpotConfigurationError, match="'hubspot_test': daily_limit must be a positive"):
        _settings(daily_limit=daily_limit).daily_limit  # noqa: B018


def test_an_oauth_app_needs_all_three_fields() -> None:
    app = {"client_id": "id", "client_secret": "secret", "refresh_token": "refresh"}
    assert _settings(**app).oauth_app == OAuthApp("id", "secret", "refresh")
    with pytest.raises(HubSpotConfigurationError, match=r"'hubspot_test'.*missing refresh_token"):
        _settings(client_id="id", client_secret="secret").oauth_app  # noqa: B018
