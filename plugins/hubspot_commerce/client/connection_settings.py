"""The ``hubspot`` connection's settings, read from its host and extras (no Airflow needed): base URL,
timeout, API version, daily limit, OAuth app and CA bundle. A bad value is a ``HubSpotConfigurationError``
naming the connection, raised when that setting is first read."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from hubspot_commerce.client.api_paths import DEFAULT_API_VERSION, ApiPaths
from hubspot_commerce.client.oauth import OAuthApp
from hubspot_commerce.errors import HubSpotConfigurationError

DEFAULT_HOST = "https://api.hubapi.com"
DEFAULT_TIMEOUT_S = 60.0


class ConnectionSettings:
    """What the connection ``conn_id`` (its ``host`` and ``extras``) sets; none of it is a request header."""

    def __init__(self, conn_id: str, host: str | None, extras: Mapping[str, Any]) -> None:
        self.conn_id = conn_id
        self.host = host
        self.extras = extras

    @cached_property
    def base_url(self) -> str:
        """The host: a URL, or a host name served over HTTPS (default HubSpot's API); no trailing slash."""
        host = (self.host or DEFAULT_HOST).strip().rstrip("/")
        return host if "://" in host else f"https://{host}"

    @cached_property
    def timeout(self) -> float:
        """Seconds to wait for one answer (extra ``timeout``, default 60)."""
        value = self.extras.get("timeout")
        return float(value) if value not in (None, "") else DEFAULT_TIMEOUT_S

    @cached_property
    def paths(self) -> ApiPaths:
        """Every path the client sends, in the extra ``api_version`` (default ``2026-09``)."""
        version = self.extras.get("api_version")
        try:
            return ApiPaths(DEFAULT_API_VERSION if version in (None, "") else str(version).strip())
        except ValueError as exc:
            raise HubSpotConfigurationError(f"Connection {self.conn_id!r}: {exc}") from exc

    @cached_property
    def daily_limit(self) -> int | None:
        """The portal's daily request quota as configured (extra ``daily_limit``; None when empty): used
        only when HubSpot sends no daily headers, as on OAuth-authorized requests."""
        value = self.extras.get("daily_limit")
        if value in (None, ""):
            return None
        try:
            limit = int(value)
        except (TypeError, ValueError):
            limit = 0
        if limit <= 0:
            raise HubSpotConfigurationError(
                f"Connection {self.conn_id!r}: daily_limit must be a positive number of requests "
                f"(250000 on Free and Starter, 625000 on Professional, 1000000 on Enterprise), got {value!r}"
            )
        return limit

    @cached_property
    def oauth_app(self) -> OAuthApp | None:
        """The OAuth app the extras ``client_id``, ``client_secret``, ``refresh_token`` name, else None."""
        try:
            return OAuthApp.from_extras(self.extras)
        except ValueError as exc:
            raise HubSpotConfigurationError(f"Connection {self.conn_id!r}: {exc}") from exc

    @cached_property
    def verify(self) -> str | bool:
        """TLS verification, never off: the extra ``verify`` when it is a CA bundle path, else True (a false
        ``verify`` is ignored)."""
        ca_bundle = self.extras.get("verify")
        is_path = isinstance(ca_bundle, str) and ca_bundle.strip().lower() not in ("", "true", "false")
        return ca_bundle if is_path else True
