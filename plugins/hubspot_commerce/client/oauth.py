"""OAuth 2.0 for the ``hubspot`` connection: an access token from an OAuth app's refresh token, refreshed
before it expires and when HubSpot says it expired, one refresh at a time for all of a hook's threads.

HubSpot's OAuth access tokens live 30 minutes (``expires_in`` 1800); HubSpot asks apps to refresh on
``expires_in`` rather than wait for a 401 (https://developers.hubspot.com/docs/api-reference/error-handling),
so a token is replaced once less than :data:`REFRESH_MARGIN_S` (or a fifth of its lifetime) remains.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hubspot_commerce.batch.send import ApiResponse
from hubspot_commerce.errors import HubSpotOAuthRefused, error_for_response

REFRESH_MARGIN_S = 60.0
OAUTH_FIELDS = ("client_id", "client_secret", "refresh_token")


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth app's credentials as the connection holds them (extras ``client_id``, ``client_secret``,
    ``refresh_token``)."""

    client_id: str
    client_secret: str
    refresh_token: str

    @classmethod
    def from_extras(cls, extras: Mapping[str, Any]) -> OAuthApp | None:
        """The app when the extras name one, else None; some of its fields without the others: ValueError."""
        values = {name: str(extras.get(name) or "").strip() for name in OAUTH_FIELDS}
        if not any(values.values()):
            return None
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise ValueError(f"an OAuth app needs {', '.join(OAUTH_FIELDS)}; missing {', '.join(missing)}")
        return cls(**values)


class OAuthToken:
    """The current access token of one OAuth app, shared by a hook's threads.

    :param app: the OAuth app whose refresh token is exchanged.
    :param exchange: posts a form to HubSpot's token endpoint and returns the answer (the hook's session).
    :param conn_id: the connection, named in every error.
    :param on_new_secret: called with every new access or refresh token (Airflow's secret masker).
    :param clock: monotonic seconds (injected for tests).
    """

    def __init__(
        self,
        app: OAuthApp,
        exchange: Callable[[dict[str, str]], ApiResponse],
        *,
        conn_id: str,
        on_new_secret: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.exchange = exchange
        self.conn_id = conn_id
        self.on_new_secret = on_new_secret
        self.clock = clock
        self.refresh_token = app.refresh_token
        self.access_token: str | None = None
        self.refresh_at = 0.0
        self.refreshes = 0
        self._lock = threading.Lock()
        on_new_secret(app.client_secret)
        on_new_secret(app.refresh_token)

    def current(self) -> str:
        """A live access token: the held one, or a new one when there is none or it is about to expire."""
        with self._lock:
            if self.access_token is None or self.clock() >= self.refresh_at:
                self._refresh()
            return str(self.access_token)

    def expired(self, rejected: str | None) -> str:
        """HubSpot said ``rejected`` expired: refresh, unless another thread already replaced it."""
        with self._lock:
            if self.access_token is None or self.access_token == rejected:
                self._refresh()
            return str(self.access_token)

    def secrets(self) -> list[str]:
        """Every secret this token source holds (to scrub from messages)."""
        held = [self.app.client_secret, self.refresh_token, self.access_token]
        return [secret for secret in held if secret]

    def _refresh(self) -> None:
        """Exchange the refresh token for a new access token (the caller holds the lock)."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
            "refresh_token": self.refresh_token,
        }
        response = self.exchange(form)
        body = response.body
        if response.status in (400, 401):
            reason = body.get("status") if body.get("status") != "error" else body.get("category")
            raise HubSpotOAuthRefused(
                f"Connection {self.conn_id!r}: HubSpot refused the OAuth app's refresh token or client "
                f"credentials ({reason or body.get('error') or response.status}: "
                f"{body.get('message') or body.get('error_description') or 'no reason given'}). Put a "
                "valid refresh token (or client id and secret) in the connection.",
                status=response.status,
                category=str(reason or body.get("error") or "") or None,
                correlation_id=body.get("correlationId"),
            )
        if not 200 <= response.status < 300:
            raise error_for_response(response.status, body, response.headers, what="OAuth token refresh")
        self._take(body)

    def _take(self, body: Mapping[str, Any]) -> None:
        """Hold the new access token (and a rotated refresh token), masked before anything can log them."""
        access_token = str(body.get("access_token") or "")
        if not access_token:
            raise HubSpotOAuthRefused(
                f"Connection {self.conn_id!r}: HubSpot's token endpoint answered without an access token"
            )
        self.on_new_secret(access_token)
        rotated = str(body.get("refresh_token") or "")
        if rotated and rotated != self.refresh_token:
            self.on_new_secret(rotated)
            self.refresh_token = rotated
        lifetime = float(body.get("expires_in") or 0)
        self.access_token = access_token
        self.refresh_at = self.clock() + lifetime - min(REFRESH_MARGIN_S, lifetime / 5)
        self.refreshes += 1
