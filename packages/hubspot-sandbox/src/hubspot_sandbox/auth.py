"""Who may call the sandbox: private-app tokens with scopes, and OAuth access tokens from refresh tokens."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from hubspot_sandbox.error_bodies import ApiError, iso_from_ms

NOT_FOUND_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more "
    "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its app (which has its own burst window) and scopes (None: every scope).

    OAuth callers stand for user-level installs: HubSpot's association permissions bind them only."""

    app: str
    scopes: frozenset[str] | None
    oauth: bool
    app_id: int = 0
    client_id: str | None = None

    def has_any(self, scopes: tuple[str, ...]) -> bool:
        """Whether the caller holds at least one of ``scopes``."""
        return self.scopes is None or any(scope in self.scopes for scope in scopes)


@dataclass(frozen=True)
class Grant:
    """What a token is (for introspection): its caller, ``kind`` static / access / refresh, seconds left."""

    principal: Principal
    kind: str
    expires_in: int = 0


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth app: credentials, the refresh token it was installed with, its scopes and app id."""

    client_id: str
    client_secret: str
    refresh_token: str
    scopes: frozenset[str] | None
    app_id: int = 0

    @property
    def principal(self) -> Principal:
        """The caller this app's tokens authenticate as."""
        return Principal(
            f"oauth-{self.client_id}", self.scopes, oauth=True, app_id=self.app_id, client_id=self.client_id
        )


def _scopes(text: str) -> frozenset[str] | None:
    """A comma-separated scope list; empty means every scope (None)."""
    scopes = frozenset(part.strip() for part in text.split(",") if part.strip())
    return scopes or None


class Auth:
    """Token table. ``TOKEN`` has all scopes, ``TOKEN:scope1,scope2`` only those."""

    def __init__(self, tokens: list[str], oauth_clients: list[str], oauth_expires_in: int = 1800) -> None:
        self._tokens: dict[str, Principal] = {}
        for spec in tokens:
            token, _, scopes = spec.partition(":")
            number = len(self._tokens) + 1
            self._tokens[token] = Principal(
                f"private-app-{number}", _scopes(scopes), oauth=False, app_id=1000 + number
            )
        self._clients: dict[str, OAuthClient] = {}
        for spec in oauth_clients:
            parts = spec.split(":", 3)
            if len(parts) < 3:
                raise ValueError(
                    f"--oauth-client needs CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN[:scopes], got {spec!r}"
                )
            client = OAuthClient(
                parts[0],
                parts[1],
                parts[2],
                _scopes(parts[3]) if len(parts) == 4 else None,
                app_id=2001 + len(self._clients),
            )
            self._clients[client.client_id] = client
        self.expires_in = oauth_expires_in
        self._issued: dict[str, tuple[float, Principal]] = {}  # access token -> (expires at, principal)
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller of a ``Bearer`` header, or a 401 (INVALID_ / EXPIRED_AUTHENTICATION)."""
        if not authorization or not authorization.startswith("Bearer ") or not authorization[7:].strip():
            raise ApiError(401, "INVALID_AUTHENTICATION", NOT_FOUND_MESSAGE)
        token = authorization[7:].strip()
        principal = self._tokens.get(token)
        if principal is not None:
            return principal
        with self._lock:
            issued = self._issued.get(token)
        if issued is None:
            raise ApiError(401, "INVALID_AUTHENTICATION", NOT_FOUND_MESSAGE)
        expires_at, principal = issued
        late = time.monotonic() - expires_at
        if late > 0:  # HubSpot's body, as integrators logged it (message, category, context "expire time")
            raise ApiError(
                401,
                "EXPIRED_AUTHENTICATION",
                f"The OAuth token used to make this call expired {int(late)} second(s) ago.",
                context={"expire time": [iso_from_ms((time.time() - late) * 1000)]},
            )
        return principal

    def lookup(self, token: str) -> Grant | None:
        """What a token is, or None when it is unknown or an expired access token."""
        principal = self._tokens.get(token)
        if principal is not None:
            return Grant(principal, "static")
        with self._lock:
            issued = self._issued.get(token)
        if issued is not None:
            left = issued[0] - time.monotonic()
            return Grant(issued[1], "access", int(left)) if left > 0 else None
        client = next((c for c in self._clients.values() if c.refresh_token == token), None)
        return Grant(client.principal, "refresh") if client is not None else None

    def client_matches(self, client_id: str | None, client_secret: str | None) -> bool:
        """Whether these are an OAuth app's credentials."""
        client = self._clients.get(client_id or "")
        return client is not None and client.client_secret == client_secret

    def token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        """``POST /oauth/{version}/token`` with ``grant_type=refresh_token``: a new access token."""
        field = {key: values[0] for key, values in form.items() if values}
        if field.get("grant_type") != "refresh_token":
            return 400, {"status": "BAD_GRANT_TYPE", "message": "grant_type must be refresh_token"}
        client = self._clients.get(field.get("client_id", ""))
        if client is None:
            return 400, {"status": "BAD_CLIENT_ID", "message": "missing or unknown client id"}
        if field.get("client_secret") != client.client_secret:
            return 400, {"status": "BAD_CLIENT_SECRET", "message": "missing or invalid client secret"}
        if field.get("refresh_token") != client.refresh_token:
            return 400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
        access_token = "sandbox-oauth-" + secrets.token_hex(16)
        with self._lock:
            self._issued[access_token] = (
                time.monotonic() + self.expires_in,
                client.principal,
            )
        return 200, {
            "token_type": "bearer",
            "refresh_token": client.refresh_token,
            "access_token": access_token,
            "expires_in": self.expires_in,
            "token_use": "access_token",
        }
